//! Time for the simulated world.
//!
//! Real mode runs `speed` times faster than the wall clock, so a demo can show a
//! ten-minute progress deadline in a minute. Manual mode only moves when a test (or a
//! screenshot run) calls [`Clock::advance`], which makes rollouts deterministic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use tokio::sync::watch;

#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Mutex<Mode>,
    ticks: watch::Sender<Timestamp>,
}

#[derive(Clone, Copy)]
enum Mode {
    Real {
        origin_real: Instant,
        origin_virtual: Timestamp,
        speed: f64,
    },
    Manual {
        now: Timestamp,
    },
}

impl Clock {
    /// Wall-clock time, scaled by `speed` (1.0 = real time).
    pub fn real(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self::with_mode(Mode::Real {
            origin_real: Instant::now(),
            origin_virtual: Timestamp::now(),
            speed,
        })
    }

    /// A clock that stands still until [`Clock::advance`] moves it.
    pub fn manual(start: Timestamp) -> Self {
        Self::with_mode(Mode::Manual { now: start })
    }

    /// The fixed instant deterministic scenarios start from (tests and screenshots).
    pub fn epoch() -> Timestamp {
        Timestamp::from_second(1_795_000_000).expect("constant timestamp is valid")
    }

    fn with_mode(mode: Mode) -> Self {
        let now = match mode {
            Mode::Real { origin_virtual, .. } => origin_virtual,
            Mode::Manual { now } => now,
        };
        let (ticks, _) = watch::channel(now);
        Clock {
            inner: Arc::new(Inner {
                mode: Mutex::new(mode),
                ticks,
            }),
        }
    }

    pub fn now(&self) -> Timestamp {
        match *self.inner.mode.lock() {
            Mode::Real {
                origin_real,
                origin_virtual,
                speed,
            } => {
                let elapsed = origin_real.elapsed().as_secs_f64() * speed;
                origin_virtual + SignedDuration::from_secs_f64(elapsed)
            }
            Mode::Manual { now } => now,
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(*self.inner.mode.lock(), Mode::Manual { .. })
    }

    pub fn speed(&self) -> f64 {
        match *self.inner.mode.lock() {
            Mode::Real { speed, .. } => speed,
            Mode::Manual { .. } => 0.0,
        }
    }

    /// Moves a manual clock forward; a real clock ignores it.
    pub fn advance(&self, by: Duration) {
        self.set(self.now() + SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX));
    }

    /// Moves a manual clock to `to` if that is later than now; a real clock ignores it.
    pub fn set(&self, to: Timestamp) {
        let mut mode = self.inner.mode.lock();
        if let Mode::Manual { now } = &mut *mode
            && to > *now
        {
            *now = to;
            self.inner.ticks.send_replace(to);
        }
    }

    /// Real time it takes this clock to cover `virtual_span` (never zero, so loops yield).
    pub fn real_duration(&self, virtual_span: SignedDuration) -> Duration {
        let secs = virtual_span.as_secs_f64().max(0.0);
        let speed = match *self.inner.mode.lock() {
            Mode::Real { speed, .. } => speed,
            Mode::Manual { .. } => 1.0,
        };
        Duration::from_secs_f64(secs / speed).max(Duration::from_millis(1))
    }

    /// Waits until the clock reads at least `deadline`.
    pub async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            if self.is_manual() {
                let mut rx = self.inner.ticks.subscribe();
                // Checked after subscribing, so a tick in between is not missed.
                if self.now() >= deadline {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            } else {
                let span = deadline.duration_since(self.now());
                if !span.is_positive() {
                    return;
                }
                tokio::time::sleep(self.real_duration(span)).await;
            }
        }
    }

    /// Turns a manual clock into a real one that continues from the current reading. Scenarios
    /// build their history on a manual clock, then the live demo runs on from "now".
    pub fn switch_to_real(&self, speed: f64) {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        let mut mode = self.inner.mode.lock();
        if let Mode::Manual { now } = *mode {
            *mode = Mode::Real {
                origin_real: Instant::now(),
                origin_virtual: now,
                speed,
            };
        }
        drop(mode);
        // Wake manual-mode sleepers so they re-evaluate under real time.
        self.inner.ticks.send_replace(self.now());
    }

    /// Notified on every move of a manual clock.
    pub fn subscribe(&self) -> watch::Receiver<Timestamp> {
        self.inner.ticks.subscribe()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.now())
            .field("manual", &self.is_manual())
            .finish()
    }
}

/// RFC 3339 with second precision and a `Z`, the way the API server writes timestamps.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual(Clock::epoch());
        assert_eq!(clock.now(), Clock::epoch());
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), Clock::epoch() + SignedDuration::from_secs(90));
        assert_eq!(rfc3339(Clock::epoch()), "2026-11-18T11:06:40Z");
    }

    #[tokio::test]
    async fn manual_sleep_wakes_on_advance() {
        let clock = Clock::manual(Clock::epoch());
        let deadline = Clock::epoch() + SignedDuration::from_secs(5);
        let waiter = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        clock.advance(Duration::from_secs(2));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        clock.advance(Duration::from_secs(3));
        waiter.await.expect("sleeper finishes");
    }
}
