//! Rate limits shared by several processes (gateway replicas), kept in Redis: a
//! [`RateLimiter`] for `toolkit_runtime::RuntimeBuilder::rate_limiter`.
//! One Lua script checks and updates a tool's bucket and the caller's bucket atomically, with
//! Redis's own clock, so replicas whose clocks differ still share one budget. The state of a
//! bucket is its theoretical arrival time (GCRA, the rule `governor` follows in memory) in
//! microseconds, under `toolkit:rl:{NAMESPACE/NAME}:RATE:BURST:tool` and
//! `...:caller:CALLER` (one hash slot per tool); keys expire once their bucket is full again.
//!
//! When Redis cannot be reached or does not answer within a second, a call is refused with an
//! `unreachable` error (fail closed), or admitted with a logged warning when
//! [`RedisLimitOptions::fail_open`] is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use toolkit_core::model::RateLimit;
use toolkit_core::{Error, ErrorKind, Result, SecretString, ToolRef};

use toolkit_runtime::{RateLimiter, ToolLimiter, quota_numbers};

/// Prefix of every key.
pub const KEY_PREFIX: &str = "toolkit:rl:";

/// Time allowed for connecting and for one answer.
const TIMEOUT: Duration = Duration::from_secs(1);

/// After a failed connection attempt, calls fail at once for this long before the next attempt.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// At most one warning about an unreachable Redis per this interval.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// KEYS: the buckets to take from. ARGV[1]: emission interval in microseconds; ARGV[2]: the
/// burst tolerance, (burst - 1) intervals. Returns 0 when every bucket had room (and takes
/// one from each), otherwise the microseconds to wait (and takes nothing).
const SCRIPT: &str = r"
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local earliest = tat - tau
  if now < earliest and earliest - now > wait then wait = earliest - now end
  tats[i] = tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local next = tats[i] + t
  redis.call('SET', key, string.format('%.0f', next), 'PX', math.floor((next - now) / 1000) + 1000)
end
return 0
";

/// How the shared limiter behaves when Redis is unavailable.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedisLimitOptions {
    /// Admit calls (with a logged warning) instead of refusing them.
    pub fail_open: bool,
}

/// Rate limits kept in Redis. Cheap to clone; connects on first use and reconnects by itself.
#[derive(Clone)]
pub struct RedisRateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    client: redis::Client,
    address: String,
    connection: tokio::sync::Mutex<Connection>,
    script: redis::Script,
    options: RedisLimitOptions,
    started: Instant,
    warned_at_ms: AtomicU64,
}

#[derive(Default)]
struct Connection {
    manager: Option<ConnectionManager>,
    retry_at: Option<Instant>,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter").field("address", &self.shared.address).finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on the Redis at `url` (`redis://[:PASSWORD@]HOST[:PORT][/DB]`). Nothing is
    /// connected yet; the URL is never printed, since it may hold a password.
    pub fn new(url: &SecretString, options: RedisLimitOptions) -> Result<Self> {
        let client = redis::Client::open(url.expose()).map_err(|_| {
            Error::config("use the rate-limit redis URL: it is not a valid redis:// URL")
                .with_context("hint", "write redis://[:PASSWORD@]HOST[:PORT][/DB]")
        })?;
        let address = client.get_connection_info().addr.to_string();
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                address,
                connection: tokio::sync::Mutex::new(Connection::default()),
                script: redis::Script::new(SCRIPT),
                options,
                started: Instant::now(),
                warned_at_ms: AtomicU64::new(0),
            }),
        })
    }

    /// `HOST:PORT` of the server (no credentials), for logs.
    pub fn address(&self) -> &str {
        &self.shared.address
    }

    /// Connects now, so that a configuration mistake shows at startup rather than on the first
    /// rate-limited call.
    pub async fn connect(&self) -> Result<()> {
        self.shared.manager().await.map(drop).map_err(|cause| {
            Error::new(
                ErrorKind::Unreachable,
                format!("connect to redis at {} for the shared rate limits: {cause}", self.address()),
            )
        })
    }
}

impl RateLimiter for RedisRateLimiter {
    fn for_tool(&self, tool: &ToolRef, rate: &RateLimit) -> Arc<dyn ToolLimiter> {
        let (per_minute, burst) = quota_numbers(rate);
        let interval_us = 60_000_000 / u64::from(per_minute.get());
        let key = format!("{KEY_PREFIX}{{{tool}}}:{per_minute}:{burst}:");
        Arc::new(RedisBuckets {
            shared: self.shared.clone(),
            tool_key: format!("{key}tool"),
            caller_prefix: format!("{key}caller:"),
            interval_us,
            tolerance_us: interval_us * u64::from(burst.get() - 1),
        })
    }
}

struct RedisBuckets {
    shared: Arc<Shared>,
    tool_key: String,
    caller_prefix: String,
    interval_us: u64,
    tolerance_us: u64,
}

#[async_trait]
impl ToolLimiter for RedisBuckets {
    async fn acquire(&self, caller: &str) -> Result<Option<Duration>> {
        match self.take(caller).await {
            Ok(wait) => Ok(wait),
            Err(cause) if self.shared.options.fail_open => {
                self.shared.warn(&cause, "admitting calls without a rate limit (--rate-limit-fail-open)");
                Ok(None)
            }
            Err(cause) => {
                self.shared.warn(&cause, "refusing rate-limited calls until it answers");
                Err(Error::new(ErrorKind::Unreachable, "check the rate limit: the shared limiter is unavailable")
                    .with_context("hint", "retry shortly")
                    .set_retryable(true))
            }
        }
    }
}

impl RedisBuckets {
    async fn take(&self, caller: &str) -> Result<Option<Duration>, String> {
        let mut connection = self.shared.manager().await?;
        let caller_key = format!("{}{caller}", self.caller_prefix);
        let mut invocation = self.shared.script.key(&self.tool_key);
        invocation.key(caller_key).arg(self.interval_us).arg(self.tolerance_us);
        let wait_us: i64 = match tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut connection)).await {
            Ok(Ok(wait)) => wait,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("no answer within {TIMEOUT:?}")),
        };
        Ok(u64::try_from(wait_us).ok().filter(|w| *w > 0).map(Duration::from_micros))
    }
}

impl Shared {
    /// The connection, made on first use; after a failed attempt, calls fail at once for a
    /// moment instead of each waiting for a connection timeout.
    async fn manager(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.connection.lock().await;
        if let Some(m) = &slot.manager {
            return Ok(m.clone());
        }
        if slot.retry_at.is_some_and(|at| Instant::now() < at) {
            return Err("not connected (the last attempt failed)".into());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(0);
        let connecting = ConnectionManager::new_with_config(self.client.clone(), config);
        let outcome = match tokio::time::timeout(TIMEOUT + Duration::from_millis(500), connecting).await {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(format!("connect: {e}")),
            Err(_) => Err(format!("connect: no answer within {TIMEOUT:?}")),
        };
        match outcome {
            Ok(m) => {
                slot.manager = Some(m.clone());
                slot.retry_at = None;
                tracing::info!(redis = %self.address, "shared rate limits: connected");
                Ok(m)
            }
            Err(e) => {
                slot.retry_at = Some(Instant::now() + RECONNECT_PAUSE);
                Err(e)
            }
        }
    }

    fn warn(&self, cause: &str, consequence: &str) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX).max(1);
        let last = self.warned_at_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= u64::try_from(WARN_EVERY.as_millis()).unwrap_or(u64::MAX);
        if due && self.warned_at_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            tracing::warn!(redis = %self.address, "shared rate limits: redis is unavailable ({cause}); {consequence}");
        }
    }
}
