//! Source of the current time for callers that do not pass timestamps.
//!
//! The engine itself only takes timestamps as arguments, so tests can replay
//! any span of time without sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Source of the current time in unix milliseconds.
pub trait Clock {
    /// Returns the current time in milliseconds since the unix epoch.
    fn now_unix_ms(&self) -> u64;
}

/// The system's wall clock. It may step backwards (NTP, manual changes); the
/// engine tolerates that.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        // A clock set before 1970 reads as the epoch instead of failing.
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
    }
}
