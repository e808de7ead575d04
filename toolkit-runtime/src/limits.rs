//! Token-bucket rate limits from `spec.rateLimit`, per tool and per caller, behind the
//! [`RateLimiter`] trait: [`MemoryRateLimiter`] keeps the buckets in this process, and with the
//! `toolkit-limits-redis` crate keeps one budget in Redis for several processes.
//!
//! Both follow the same rule (GCRA, as `governor` implements it): a tool with
//! `requestsPerMinute: R, burst: B` admits `B` calls at once, then one every `60s / R`; each
//! caller has a budget of the same size, and a call needs room in both.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use toolkit_core::model::RateLimit;
use toolkit_core::{Error, Result, ToolRef};

/// Context key of a rate-limit refusal: milliseconds until a retry may succeed.
pub const RETRY_AFTER_MS: &str = "retry_after_ms";

/// Where the buckets live. The runtime asks once per tool, when it prepares the tool.
pub trait RateLimiter: Send + Sync {
    /// The buckets of `tool` under `rate`. Asking again for the same tool and rate returns the
    /// same budget, so a reloaded catalog keeps what was spent.
    fn for_tool(&self, tool: &ToolRef, rate: &RateLimit) -> Arc<dyn ToolLimiter>;
}

/// The buckets of one tool.
#[async_trait]
pub trait ToolLimiter: Send + Sync {
    /// Takes one call from the tool's budget and from `caller`'s: `Ok(None)` when admitted,
    /// `Ok(Some(wait))` when either budget is spent and a retry may succeed after `wait`, and
    /// an error when the limit could not be checked.
    async fn acquire(&self, caller: &str) -> Result<Option<Duration>>;
}

/// How long to wait before retrying a call refused by a rate limit, if `error` is such a refusal.
pub fn retry_after(error: &Error) -> Option<Duration> {
    error.context_value(RETRY_AFTER_MS)?.parse().ok().map(Duration::from_millis)
}

/// Sustained rate and burst of `rate`; validation bounds both to at least 1. Every
/// [`RateLimiter`] turns a `spec.rateLimit` into a quota this way.
pub fn quota_numbers(rate: &RateLimit) -> (NonZeroU32, NonZeroU32) {
    let per_minute = NonZeroU32::new(rate.requests_per_minute).unwrap_or(NonZeroU32::MIN);
    (per_minute, rate.burst.and_then(NonZeroU32::new).unwrap_or(per_minute))
}

/// Buckets in this process, kept for as long as some runtime uses them.
#[derive(Default)]
pub struct MemoryRateLimiter {
    buckets: Mutex<HashMap<(ToolRef, u32, u32), Weak<MemoryBuckets>>>,
}

impl MemoryRateLimiter {
    /// An empty set of buckets.
    pub fn new() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for MemoryRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn for_tool(&self, tool: &ToolRef, rate: &RateLimit) -> Arc<dyn ToolLimiter> {
        let (per_minute, burst) = quota_numbers(rate);
        let key = (tool.clone(), per_minute.get(), burst.get());
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = buckets.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        // Tools dropped from the catalog (or whose rate changed) no longer hold their buckets.
        buckets.retain(|_, b| b.strong_count() > 0);
        let created = Arc::new(MemoryBuckets::new(per_minute, burst));
        buckets.insert(key, Arc::downgrade(&created));
        created
    }
}

/// Callers remembered by one tool before idle ones are forgotten.
const CALLERS_KEPT: usize = 4096;

/// The limiters of one tool.
struct MemoryBuckets {
    tool: DefaultDirectRateLimiter,
    per_caller: DefaultKeyedRateLimiter<String>,
    checks: AtomicU32,
}

impl MemoryBuckets {
    fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            tool: governor::RateLimiter::direct(quota),
            per_caller: governor::RateLimiter::keyed(quota),
            checks: AtomicU32::new(0),
        }
    }

    fn check(&self, caller: &str) -> Option<Duration> {
        // Callers name themselves on a loopback listener; forget the idle ones now and then.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 256 == 255 && self.per_caller.len() > CALLERS_KEPT {
            self.per_caller.retain_recent();
        }
        let clock = DefaultClock::default();
        if let Err(not_until) = self.per_caller.check_key(&caller.to_owned()) {
            return Some(not_until.wait_time_from(clock.now()));
        }
        self.tool.check().err().map(|not_until| not_until.wait_time_from(clock.now()))
    }
}

#[async_trait]
impl ToolLimiter for MemoryBuckets {
    async fn acquire(&self, caller: &str) -> Result<Option<Duration>> {
        Ok(self.check(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_minute: u32, burst: u32) -> RateLimit {
        RateLimit { requests_per_minute: per_minute, burst: Some(burst) }
    }

    #[tokio::test]
    async fn burst_then_refusal_with_a_wait() {
        let limiter = MemoryRateLimiter::new();
        let buckets = limiter.for_tool(&ToolRef::new("default", "t"), &rate(60, 2));
        assert_eq!(buckets.acquire("a").await.unwrap(), None);
        assert_eq!(buckets.acquire("a").await.unwrap(), None);
        let wait = buckets.acquire("a").await.unwrap().expect("third call refused");
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[tokio::test]
    async fn the_same_tool_and_rate_share_a_budget_across_reloads() {
        let limiter = MemoryRateLimiter::new();
        let tool = ToolRef::new("default", "t");
        let first = limiter.for_tool(&tool, &rate(60, 1));
        assert_eq!(first.acquire("a").await.unwrap(), None);
        let again = limiter.for_tool(&tool, &rate(60, 1));
        assert!(again.acquire("a").await.unwrap().is_some(), "a reload must not refill the bucket");
        let changed = limiter.for_tool(&tool, &rate(120, 1));
        assert_eq!(changed.acquire("a").await.unwrap(), None, "a new rate starts a new budget");
        drop((first, again, changed));
        assert_eq!(limiter.for_tool(&tool, &rate(60, 1)).acquire("a").await.unwrap(), None);
    }

    #[test]
    fn retry_after_reads_the_context() {
        let e = Error::new(toolkit_core::ErrorKind::Denied, "rate limit").with_context(RETRY_AFTER_MS, 1500);
        assert_eq!(retry_after(&e), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&Error::internal("x")), None);
    }
}
