//! Token-bucket rate limits from `spec.rateLimit`, per tool and per caller.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use toolkit_core::model::RateLimit;

/// The limiters of one tool.
pub(crate) struct Limiter {
    tool: DefaultDirectRateLimiter,
    per_caller: DefaultKeyedRateLimiter<String>,
}

impl Limiter {
    pub(crate) fn new(rl: &RateLimit) -> Self {
        // Validation bounds both numbers to at least 1.
        let rate = NonZeroU32::new(rl.requests_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = rl.burst.and_then(NonZeroU32::new).unwrap_or(rate);
        let quota = Quota::per_minute(rate).allow_burst(burst);
        Self { tool: governor::RateLimiter::direct(quota), per_caller: governor::RateLimiter::keyed(quota) }
    }

    /// `Ok` when the call may go ahead, otherwise how long to wait.
    pub(crate) fn check(&self, caller: &str) -> Result<(), Duration> {
        let clock = DefaultClock::default();
        if let Err(not_until) = self.per_caller.check_key(&caller.to_owned()) {
            return Err(not_until.wait_time_from(clock.now()));
        }
        self.tool.check().map_err(|not_until| not_until.wait_time_from(clock.now()))
    }
}
