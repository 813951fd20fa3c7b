//! The time a run waits in: for an `eventually_ms` step, a `paginate` helper's `within_ms`, and
//! a TOTP code from a time step not used yet.
//!
//! A live run waits for real: the target needs the time. A replayed snapshot does not: every
//! answer is already recorded, so waiting would only make the replay as slow as the recording
//! (two minutes for a prefix domain, thirty seconds per TOTP code). Its clock jumps forward by
//! each wait instead of sleeping. A bounded repetition then makes at least as many attempts as
//! the live run made (the live run also spent real time on each answer), and replay answers
//! extra attempts with the last recorded answer, so the verdict is the one recorded.
//!
//! A wait also decides a scenario's job slot (`--jobs` scenarios make calls at once): a
//! scenario that waits long ([`LONG_WAIT`] or more in all: TOTP windows, a prefix domain that
//! takes a minute to appear) gives its slot back at its first real wait and runs on outside the
//! count. While it sleeps the target does no work for it; holding the slot left a job idle for
//! up to a minute and a half while others queued. It does not queue for a slot again: a TOTP
//! code must be used in the window it waited for, and behind a queue of scenarios it could miss
//! it. So at most `--jobs` plus the long-waiting scenarios (six of the suite) are in flight.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

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
            RunClock::Real => {
                give_up_slot_if_waiting_long();
                tokio::time::sleep(duration).await
            }
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

/// A scenario's waits at or above this, in all, give its job slot back (see the module).
pub const LONG_WAIT: Duration = Duration::from_secs(10);

tokio::task_local! {
    static SLOT: JobSlot;
}

/// The job slot of the scenario a task runs.
struct JobSlot {
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    /// The scenario waits long: its first real wait gives the permit back.
    waits_long: bool,
}

/// Runs `scenario` holding `permit` as its job slot. `longest_wait` is the scenario's own
/// estimate ([`crate::scenario::Scenario::longest_wait`]).
pub async fn in_job_slot<F: Future>(
    permit: Option<OwnedSemaphorePermit>,
    longest_wait: Duration,
    scenario: F,
) -> F::Output {
    let slot = JobSlot {
        permit: Mutex::new(permit),
        waits_long: longest_wait >= LONG_WAIT,
    };
    SLOT.scope(slot, scenario).await
}

/// Before a real wait: a long-waiting scenario's slot goes to the next scenario. Outside a job
/// slot (the `cargo test` harness runs each scenario as a test of its own) nothing happens.
fn give_up_slot_if_waiting_long() {
    let _ = SLOT.try_with(|slot| {
        if slot.waits_long {
            if let Ok(mut permit) = slot.permit.lock() {
                permit.take();
            }
        }
    });
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

    /// One job: a scenario that waits long lets the next one start during its wait; one that
    /// waits briefly (polling for a delivered code) keeps its slot.
    #[tokio::test]
    async fn a_long_wait_gives_the_job_slot_to_the_next_scenario() {
        for (longest_wait, next_starts_during_the_wait) in
            [(LONG_WAIT, true), (Duration::from_millis(100), false)]
        {
            let jobs = Arc::new(tokio::sync::Semaphore::new(1));
            let permit = Arc::clone(&jobs).acquire_owned().await.ok();
            let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel();
            let first = tokio::spawn(in_job_slot(permit, longest_wait, async move {
                let _ = waiting_tx.send(());
                RunClock::Real.sleep(Duration::from_millis(300)).await;
            }));
            waiting_rx.await.unwrap();
            let next = tokio::time::timeout(Duration::from_millis(150), jobs.acquire()).await;
            assert_eq!(
                next.is_ok(),
                next_starts_during_the_wait,
                "{longest_wait:?}"
            );
            drop(next);
            first.await.unwrap();
            // Either way the slot is free once the scenario ends.
            assert_eq!(jobs.available_permits(), 1);
        }
    }

    #[tokio::test]
    async fn the_real_clock_sleeps() {
        let clock = RunClock::Real;
        let wall = Instant::now();
        clock.sleep(Duration::from_millis(30)).await;
        assert!(wall.elapsed() >= Duration::from_millis(30));
    }
}
