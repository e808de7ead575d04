//! Agent calls sent again when a retry may help: on 408, 429, 500, 502, 503 and 504, and when
//! no connection could be made. Waits grow exponentially with full jitter; a `Retry-After`
//! (seconds or an HTTP date) is waited out when it fits within `maxBackoff`, and otherwise
//! returned to the caller at once. No attempt starts, and no wait is begun, that would end
//! past the call's deadline. Every attempt asks the circuit breaker first.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;
use toolkit_core::{Error, ErrorKind, Result};

use crate::HttpTool;
use crate::breaker::Health;
use crate::config::RetryPolicy;
use crate::request::Seen;
use crate::response::{Answer, SendError};

/// Statuses worth another attempt.
pub(crate) fn retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// What a status says about the upstream's health; 429 says nothing either way.
fn health_of(s: StatusCode) -> Option<Health> {
    match s.as_u16() {
        408 | 500 | 502 | 503 | 504 => Some(Health::Down),
        429 => None,
        _ => Some(Health::Up),
    }
}

impl HttpTool {
    /// Sends `request` until it succeeds, fails for good, runs out of attempts or would pass
    /// `deadline`. A status outside 2xx is an error, with `attempts` in its context when
    /// there was more than one.
    pub(crate) async fn send_with_retries(
        &self,
        request: reqwest::Request,
        deadline: Instant,
        cap: usize,
        seen: &Seen,
    ) -> Result<Answer> {
        let policy = self.cfg.retry;
        let mut next = Some(request);
        let mut attempt = 1u32;
        while let Some(request) = next.take() {
            let permit = self.breaker.acquire().map_err(|wait| circuit_open(wait, attempt))?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(ErrorKind::Timeout, "send the request: the call's time ran out"));
            }
            // Only a request whose body is a stream cannot be sent twice; ours never is.
            if attempt < policy.max_attempts {
                next = request.try_clone();
            }
            let (failure, after) = match self.execute(request, left, cap).await {
                Ok(answer) => {
                    if let Some(h) = health_of(answer.status) {
                        permit.report(h);
                    }
                    if answer.status.is_success() {
                        return Ok(answer);
                    }
                    let after = retry_after(&answer.headers, SystemTime::now());
                    let err = answer.status_error(&self.redacted(seen));
                    if !retryable_status(answer.status) {
                        return Err(with_attempts(err, attempt));
                    }
                    (err, after)
                }
                Err(SendError { error, connect }) => {
                    if matches!(error.kind(), ErrorKind::Unreachable | ErrorKind::Timeout) {
                        permit.report(Health::Down);
                    }
                    if !connect {
                        return Err(with_attempts(error, attempt));
                    }
                    (error, None)
                }
            };
            let wait = match after {
                // Longer than allowed: the caller learns of it from the error's `retry-after`.
                Some(after) if after > policy.max_backoff => None,
                Some(after) => Some(after),
                None => Some(backoff(&policy, attempt, fastrand::f64())),
            };
            match wait {
                Some(wait) if next.is_some() && Instant::now() + wait < deadline => tokio::time::sleep(wait).await,
                _ => return Err(with_attempts(failure, attempt)),
            }
            attempt += 1;
        }
        Err(Error::internal("send the request: no attempt was made"))
    }
}

fn with_attempts(err: Error, attempts: u32) -> Error {
    if attempts > 1 { err.with_context("attempts", attempts) } else { err }
}

/// The wait before attempt `attempt + 1`: a random share (`jitter` in 0..1) of the initial
/// backoff doubled `attempt - 1` times, at most `maxBackoff` ("full jitter").
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let doubled = policy.initial_backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    doubled.min(policy.max_backoff).mul_f64(jitter.clamp(0.0, 1.0))
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP date (a past date is no wait).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The error of a call refused by an open circuit.
fn circuit_open(wait: Duration, attempt: u32) -> Error {
    let secs = wait.as_secs_f64().ceil().max(1.0);
    let err = Error::new(ErrorKind::Unreachable, format!("send the request: circuit open, retry after {secs:.0}s"))
        .with_context("retry_after_ms", wait.as_millis());
    let err = if attempt > 1 { err.with_context("attempts", attempt - 1) } else { err };
    err.set_retryable(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 2, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(&p, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(&p, 4, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(&p, 40, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(&p, 2, 0.5), Duration::from_millis(100));
        assert_eq!(backoff(&p, 2, 0.0), Duration::ZERO);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(3));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(3));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&earlier).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }
}
