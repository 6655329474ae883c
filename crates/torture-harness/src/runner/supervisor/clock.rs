//! The clock seam: every reading of the time in the supervisor, and the wait
//! of its loop for the next event, go through a [`Clock`]. The system clock
//! runs a real run; a fake one lets tests move time by hand, so the loop's
//! deadlines (kill timers, timeouts, the stall watch) are tested without a
//! single sleep.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::events::Event;

/// Where the supervisor and its threads read the time, and how the loop
/// waits for the next event.
pub(super) trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Instant;

    /// The next event, waiting at most `timeout` for it; `None` if none came.
    fn wait(&self, events: &Receiver<Event>, timeout: Duration) -> Option<Event>;
}

/// The system's monotonic clock: waits block until an event or the timeout.
pub(super) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wait(&self, events: &Receiver<Event>, timeout: Duration) -> Option<Event> {
        match events.recv_timeout(timeout) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                unreachable!("the supervisor holds a sender")
            }
        }
    }
}

/// A clock that moves only when a test says: waits never block.
#[cfg(test)]
#[derive(Clone)]
pub(super) struct FakeClock {
    now: std::sync::Arc<std::sync::Mutex<Instant>>,
}

#[cfg(test)]
impl FakeClock {
    /// A clock standing at an arbitrary instant.
    pub(super) fn new() -> Self {
        FakeClock {
            now: std::sync::Arc::new(std::sync::Mutex::new(Instant::now())),
        }
    }

    /// Moves the time forward by `by`.
    pub(super) fn advance(&self, by: Duration) {
        *self.now.lock().expect("not poisoned") += by;
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        *self.now.lock().expect("not poisoned")
    }

    /// An event already posted, or none at once: the test advances the
    /// time instead of waiting for it.
    fn wait(&self, events: &Receiver<Event>, _timeout: Duration) -> Option<Event> {
        events.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_clock_moves_only_when_told_and_never_blocks() {
        let clock = FakeClock::new();
        let t0 = clock.now();
        let (_tx, rx) = std::sync::mpsc::channel();
        assert!(clock.wait(&rx, Duration::from_secs(3600)).is_none());
        assert_eq!(clock.now(), t0, "waiting does not move the time");
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.now() - t0, Duration::from_secs(10));
    }
}
