//! The time a run waits in: for an `eventually_ms` step, a `paginate` helper's `within_ms`, and
//! a TOTP code from a time step not used yet.
//!
//! A live run waits for real: the target needs the time. A replayed snapshot does not: every
//! answer is already recorded, so waiting would only make the replay as slow as the recording
//! (two minutes for a prefix domain, thirty seconds per TOTP code). Its clock jumps forward by
//! each wait instead of sleeping. A bounded repetition then makes at least as many attempts as
//! the live run made (the live run also spent real time on each answer), and replay answers
//! extra attempts with the last recorded answer, so the verdict is the one recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::protocol::totp::{Clock, SystemClock};

/// How a run measures and waits for time. Shared by every scenario of a run; a replay runs one
/// scenario at a time (`session`), so no scenario's waits shorten another's bound.
#[derive(Debug, Clone, Default)]
pub enum RunClock {
    /// Wall time; waits sleep.
    #[default]
    Real,
    /// Wall time plus every wait so far (in nanoseconds); waits return at once.
    Recorded(Arc<AtomicU64>),
}

impl RunClock {
    /// The clock of a replayed snapshot.
    pub fn recorded() -> RunClock {
        RunClock::Recorded(Arc::new(AtomicU64::new(0)))
    }

    fn skipped(&self) -> Duration {
        match self {
            RunClock::Real => Duration::ZERO,
            RunClock::Recorded(n) => Duration::from_nanos(n.load(Ordering::Relaxed)),
        }
    }

    /// Now, for deadlines.
    pub fn now(&self) -> Instant {
        Instant::now() + self.skipped()
    }

    /// Waits `duration` of this clock's time.
    pub async fn sleep(&self, duration: Duration) {
        match self {
            RunClock::Real => tokio::time::sleep(duration).await,
            RunClock::Recorded(n) => {
                let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
                n.fetch_add(nanos, Ordering::Relaxed);
                // Still a suspension point, as a sleep is, so a loop of waits cannot starve
                // the other tasks of the runtime.
                tokio::task::yield_now().await;
            }
        }
    }
}

impl Clock for RunClock {
    fn unix_now(&self) -> Duration {
        SystemClock.unix_now() + self.skipped()
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        RunClock::sleep(self, duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::totp::TotpGenerator;

    #[tokio::test]
    async fn a_recorded_clock_moves_by_its_waits_without_sleeping() {
        let clock = RunClock::recorded();
        let (wall, before) = (Instant::now(), clock.now());
        clock.sleep(Duration::from_secs(60)).await;
        clock.sleep(Duration::from_secs(60)).await;
        assert!(wall.elapsed() < Duration::from_secs(5), "it slept");
        assert!(clock.now() >= before + Duration::from_secs(120));
        // Clones are one clock: a run shares it.
        let other = clock.clone();
        other.sleep(Duration::from_secs(1)).await;
        assert!(clock.now() >= before + Duration::from_secs(121));
    }

    #[tokio::test]
    async fn totp_codes_on_a_recorded_clock_come_from_distinct_steps_at_once() {
        let totp = TotpGenerator::with_clock(RunClock::recorded());
        let wall = Instant::now();
        let secret = "JBSWY3DPEHPK3PXP";
        let codes: Vec<String> = [
            totp.fresh_code(secret).await.unwrap(),
            totp.fresh_code(secret).await.unwrap(),
            totp.fresh_code(secret).await.unwrap(),
        ]
        .into();
        assert!(
            wall.elapsed() < Duration::from_secs(5),
            "it waited for real"
        );
        // Three steps: codes can repeat across steps only by chance (1 in a million).
        assert_ne!(codes[0], codes[1]);
        assert_ne!(codes[1], codes[2]);
    }

    #[tokio::test]
    async fn the_real_clock_sleeps() {
        let clock = RunClock::Real;
        let wall = Instant::now();
        clock.sleep(Duration::from_millis(30)).await;
        assert!(wall.elapsed() >= Duration::from_millis(30));
    }
}
