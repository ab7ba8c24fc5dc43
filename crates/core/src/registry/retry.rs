//! How long to wait before trying again: `Retry-After` when the registry says (429), else
//! exponential backoff; jittered either way so that a console refreshing twenty services does
//! not hit a recovering registry in lockstep.

use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;

/// Bounds on retrying 429 and 5xx responses and network errors.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// First backoff step; doubles per attempt.
    pub base_delay: Duration,
    /// Cap on one backoff step.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the operation fails with the
    /// requested wait in its message instead of freezing the console.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// `delay` with the thread's RNG (which must not be held across an await).
    pub(crate) fn next_delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        self.delay(attempt, retry_after, &mut rand::rng())
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), or `None` to give up.
    pub(crate) fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            // Never earlier than asked; up to a quarter (at most 1 s) later.
            Some(wait) => Some(wait + jitter(rng, (wait / 4).min(Duration::from_secs(1)))),
            None => {
                let step = self
                    .base_delay
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
                    .min(self.max_delay);
                // "Equal jitter": half fixed, half random, so waits still grow.
                Some(step / 2 + jitter(rng, step / 2))
            }
        }
    }
}

fn jitter(rng: &mut impl Rng, max: Duration) -> Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if max_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rng.random_range(0..=max_ms))
}

/// `Retry-After` as delta-seconds or an HTTP-date (RFC 9110); a date in the past means now.
pub(crate) fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let secs = at.as_second().saturating_sub(now.as_second());
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: Timestamp = "2024-01-10T10:34:45Z".parse().expect("timestamp");
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 10 Jan 2024 10:34:55 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 10 Jan 2024 10:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn retry_after_is_honoured_with_bounded_jitter() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let wait = policy
                .delay(1, Some(Duration::from_secs(2)), &mut rng)
                .expect("within budget");
            assert!(wait >= Duration::from_secs(2), "{wait:?}");
            assert!(wait <= Duration::from_millis(2500), "{wait:?}");
        }
        // Too long a wait, or no attempts left: give up instead of sleeping.
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600)), &mut rng),
            None
        );
        assert_eq!(policy.delay(policy.max_attempts, None, &mut rng), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 40,
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        for attempt in 1..40 {
            let wait = policy
                .delay(attempt, None, &mut rng)
                .expect("within budget");
            let step = policy
                .base_delay
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(policy.max_delay);
            assert!(
                wait >= step / 2 && wait <= step,
                "attempt {attempt}: {wait:?}"
            );
        }
    }
}
