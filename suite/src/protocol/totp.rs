//! TOTP codes for software-token MFA (`AssociateSoftwareToken`, `VerifySoftwareToken`,
//! `SOFTWARE_TOKEN_MFA` challenges).
//!
//! Cognito uses RFC 6238 with its defaults: HMAC-SHA1, 6 digits, 30-second steps, and the secret
//! is the base32 `SecretCode` that `AssociateSoftwareToken` returns. Source: Amazon Cognito
//! developer guide, "TOTP software token MFA",
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html>,
//! and RFC 6238 <https://www.rfc-editor.org/rfc/rfc6238>.
//!
//! Cognito refuses a code that was already used, so a scenario that needs two codes for one
//! secret (verify the token, then sign in with it) must take them from two time steps:
//! [`TotpGenerator`] does that, waiting for the next step when needed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use totp_rs::{Algorithm, Secret, TOTP};

use super::{excerpt, ProtocolError, Result};

/// RFC 6238's time step (X), which Cognito uses.
const STEP_SECONDS: u64 = 30;
/// A code is not handed out in the last seconds of its step: on its way to the target
/// (through a proxy, on a loaded machine) the step may end, and a target that accepts only
/// the current step refuses it. The next step's code is waited for instead.
const LATE_SECONDS: u64 = 5;
/// Digits per code in Cognito's software tokens.
const DIGITS: usize = 6;

/// Decodes a `SecretCode` to the HMAC key.
///
/// Authenticator apps accept the code with spaces, in lower case and with `=` padding, so this
/// does too; anything else outside the RFC 4648 alphabet is an error.
fn secret_bytes(secret_b32: &str) -> Result<Vec<u8>> {
    let normalized: String = secret_b32
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .trim_end_matches('=')
        .to_ascii_uppercase();
    if normalized.is_empty() {
        return Err(ProtocolError::Base32 {
            what: "SecretCode",
            detail: "it is empty".to_owned(),
        });
    }
    let bytes = Secret::Encoded(normalized)
        .to_bytes()
        .map_err(|_| ProtocolError::Base32 {
            what: "SecretCode",
            detail: format!("cannot decode {:?}", excerpt(secret_b32)),
        })?;
    if bytes.is_empty() {
        return Err(ProtocolError::Base32 {
            what: "SecretCode",
            detail: format!("{:?} decodes to no bytes", excerpt(secret_b32)),
        });
    }
    Ok(bytes)
}

/// The code for an already decoded secret at `unix_time`.
fn code_at(secret: Vec<u8>, unix_time: u64) -> String {
    // `new_unchecked` because Cognito, not this client, decides the secret's length; the
    // checked constructor refuses secrets under 128 bits, which RFC 6238 allows.
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS, secret).generate(unix_time)
}

/// The 6-digit TOTP code (RFC 6238: HMAC-SHA1, 30-second steps) for the base32 `SecretCode`
/// `secret_b32` at `unix_time` (seconds since the Unix epoch).
///
/// Source: RFC 6238 <https://www.rfc-editor.org/rfc/rfc6238> and the Amazon Cognito developer
/// guide, <https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html>.
///
/// # Errors
///
/// [`ProtocolError::Base32`] if `secret_b32` is not base32 or is empty.
pub fn totp_at(secret_b32: &str, unix_time: u64) -> Result<String> {
    Ok(code_at(secret_bytes(secret_b32)?, unix_time))
}

/// Where [`TotpGenerator`] reads the time and how it waits; injectable so tests run on a fake
/// clock instead of waiting up to 30 real seconds.
pub trait Clock: Send + Sync {
    /// Time since the Unix epoch.
    fn unix_now(&self) -> Duration;
    /// Waits for `duration` of this clock's time to pass.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock: the system's wall time, and tokio's timer to wait.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> Duration {
        // A clock set before 1970 is a broken machine; treating it as the epoch yields codes
        // the endpoint will refuse, which the scenario then reports, rather than a panic.
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// Hands out TOTP codes, never two from the same time step for one secret.
///
/// Cognito accepts each code once ("a code can only be used once"); a scenario that verifies a
/// software token and then signs in with it needs a second code from a later step. When the
/// current step was already used for a secret, [`fresh_code`](TotpGenerator::fresh_code) waits
/// until the next unused step begins. Steps are reserved before waiting, so concurrent callers
/// for one secret get distinct steps too.
///
/// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html>.
#[derive(Debug)]
pub struct TotpGenerator<C: Clock = SystemClock> {
    clock: C,
    /// The last time step handed out for each secret (keyed by the decoded secret, so two
    /// spellings of one `SecretCode` share their history). Steps handed out only grow, so the
    /// last one stands for all that came before.
    last_step: Mutex<HashMap<Vec<u8>, u64>>,
}

impl TotpGenerator<SystemClock> {
    /// A generator on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }
}

impl Default for TotpGenerator<SystemClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> TotpGenerator<C> {
    /// A generator on `clock` (tests pass a fake one).
    pub fn with_clock(clock: C) -> Self {
        Self {
            clock,
            last_step: Mutex::new(HashMap::new()),
        }
    }

    /// A code for `secret_b32` from a time step no earlier call handed out for that secret,
    /// waiting (asynchronously) until that step begins when the current one is used.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::Base32`] if `secret_b32` is not base32 or is empty; it is reported at once,
    /// without waiting.
    pub async fn fresh_code(&self, secret_b32: &str) -> Result<String> {
        let secret = secret_bytes(secret_b32)?;
        let step = self.reserve_step(&secret);
        let step_start = Duration::from_secs(step.saturating_mul(STEP_SECONDS));
        // Loop rather than sleep once: a wall clock can be adjusted, or a timer fire early,
        // and a code from the wrong step would be refused as reused.
        loop {
            let now = self.clock.unix_now();
            if now >= step_start {
                break;
            }
            self.clock.sleep(step_start - now).await;
        }
        Ok(code_at(secret, step.saturating_mul(STEP_SECONDS)))
    }

    /// Chooses and records the step the next code for `secret` comes from.
    fn reserve_step(&self, secret: &[u8]) -> u64 {
        // The map is updated in one statement below and nothing that can panic runs while the
        // lock is held, so a poisoned lock still guards a consistent map.
        let mut last_step = self
            .last_step
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.unix_now().as_secs();
        let mut current = now / STEP_SECONDS;
        if STEP_SECONDS - now % STEP_SECONDS <= LATE_SECONDS {
            current += 1;
        }
        let step = match last_step.get(secret) {
            Some(&used) if used >= current => used.saturating_add(1),
            _ => current,
        };
        last_step.insert(secret.to_vec(), step);
        step
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed: ASCII "12345678901234567890", in base32
    /// (`python3 -c 'import base64; print(base64.b32encode(b"12345678901234567890"))'`).
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        // RFC 6238 appendix B gives 8-digit codes (94287082, 07081804, 14050471, 89005924,
        // 69279037); a 6-digit code is the same number mod 10^6, i.e. the last six digits.
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp_at(RFC_SECRET, time).unwrap(), code, "T = {time}");
        }
    }

    #[test]
    fn accepts_what_authenticator_apps_accept() {
        let expected = totp_at(RFC_SECRET, 59).unwrap();
        for spelling in [
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
        ] {
            assert_eq!(totp_at(spelling, 59).unwrap(), expected, "{spelling:?}");
        }
    }

    #[test]
    fn bad_secrets_are_errors_not_panics() {
        for bad in ["", "   ", "====", "A", "é", "not base32!", "GEZDGNBV1"] {
            let err = totp_at(bad, 59).unwrap_err();
            assert!(
                matches!(err, ProtocolError::Base32 { .. }),
                "{bad:?}: {err}"
            );
            assert!(err.to_string().contains("SecretCode"), "{err}");
        }
    }

    /// A clock whose `sleep` moves its own time forward at once, so waits cost nothing and
    /// every run sees the same times.
    #[derive(Clone)]
    struct FakeClock(Arc<AtomicU64>);

    impl FakeClock {
        fn at(unix: u64) -> Self {
            Self(Arc::new(AtomicU64::new(unix)))
        }
        fn now(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Clock for FakeClock {
        fn unix_now(&self) -> Duration {
            Duration::from_secs(self.now())
        }
        fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
            // Round up like a real timer: it never fires before the deadline.
            let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
            self.0.fetch_add(secs, Ordering::SeqCst);
            std::future::ready(())
        }
    }

    #[tokio::test]
    async fn consecutive_codes_come_from_different_steps() {
        // 1000 s is 10 s into step 33 (990..1020).
        let clock = FakeClock::at(1000);
        let generator = TotpGenerator::with_clock(clock.clone());

        let first = generator.fresh_code(RFC_SECRET).await.unwrap();
        assert_eq!(first, totp_at(RFC_SECRET, 990).unwrap());
        assert_eq!(clock.now(), 1000, "the first code needs no wait");

        let second = generator.fresh_code(RFC_SECRET).await.unwrap();
        assert_eq!(clock.now(), 1020, "waited exactly until step 34 began");
        assert_eq!(second, totp_at(RFC_SECRET, 1020).unwrap());
        assert_ne!(first, second);

        let third = generator.fresh_code(RFC_SECRET).await.unwrap();
        assert_eq!(clock.now(), 1050);
        assert_eq!(third, totp_at(RFC_SECRET, 1050).unwrap());
    }

    #[tokio::test]
    async fn no_code_from_the_last_seconds_of_a_step() {
        // 1017 s is 3 s before step 33 (990..1020) ends: the code comes from step 34.
        let clock = FakeClock::at(1017);
        let generator = TotpGenerator::with_clock(clock.clone());
        let code = generator.fresh_code(RFC_SECRET).await.unwrap();
        assert_eq!(clock.now(), 1020, "waited for the next step");
        assert_eq!(code, totp_at(RFC_SECRET, 1020).unwrap());
        // 6 s before the end is early enough.
        let clock = FakeClock::at(1044);
        let generator = TotpGenerator::with_clock(clock.clone());
        let code = generator.fresh_code(RFC_SECRET).await.unwrap();
        assert_eq!(clock.now(), 1044);
        assert_eq!(code, totp_at(RFC_SECRET, 1020).unwrap());
    }

    #[tokio::test]
    async fn no_wait_once_the_clock_has_moved_on() {
        let clock = FakeClock::at(1000);
        let generator = TotpGenerator::with_clock(clock.clone());
        generator.fresh_code(RFC_SECRET).await.unwrap();
        clock.0.store(1100, Ordering::SeqCst);
        let code = generator.fresh_code(RFC_SECRET).await.unwrap();
        assert_eq!(clock.now(), 1100);
        assert_eq!(code, totp_at(RFC_SECRET, 1100).unwrap());
    }

    #[tokio::test]
    async fn secrets_do_not_share_steps() {
        let clock = FakeClock::at(1000);
        let generator = TotpGenerator::with_clock(clock.clone());
        let other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        generator.fresh_code(RFC_SECRET).await.unwrap();
        let code = generator.fresh_code(other).await.unwrap();
        assert_eq!(
            clock.now(),
            1000,
            "another secret's first code needs no wait"
        );
        assert_eq!(code, totp_at(other, 1000).unwrap());
        // Two spellings of one secret are one secret.
        generator
            .fresh_code(&RFC_SECRET.to_ascii_lowercase())
            .await
            .unwrap();
        assert_eq!(clock.now(), 1020);
    }

    #[tokio::test]
    async fn concurrent_callers_get_distinct_steps() {
        let clock = FakeClock::at(1000);
        let generator = TotpGenerator::with_clock(clock.clone());
        let (a, b) = tokio::join!(
            generator.fresh_code(RFC_SECRET),
            generator.fresh_code(RFC_SECRET)
        );
        let mut codes = [a.unwrap(), b.unwrap()];
        codes.sort();
        let mut expected = [
            totp_at(RFC_SECRET, 990).unwrap(),
            totp_at(RFC_SECRET, 1020).unwrap(),
        ];
        expected.sort();
        assert_eq!(codes, expected);
    }

    #[tokio::test]
    async fn a_bad_secret_fails_without_waiting() {
        let clock = FakeClock::at(1000);
        let generator = TotpGenerator::with_clock(clock.clone());
        assert!(generator.fresh_code("!!").await.is_err());
        assert!(generator.fresh_code("!!").await.is_err());
        assert_eq!(clock.now(), 1000);
    }
}
