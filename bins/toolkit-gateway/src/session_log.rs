//! MCP logging for one session. `logging/setLevel` sets the least severe level the client wants
//! to hear; from then on the session's own calls are reported to it as `notifications/message`:
//! the start of a call at `debug`, its success at `info`, a refusal (arguments, policy, rate
//! limit, unknown tool) at `warning` and any other failure at `error`. Nothing is sent before
//! the client sets a level, and nothing about other sessions' calls. A message says what the
//! call's result says anyway: the tool's MCP name, the duration, and the error text (already
//! redacted by the runtime).
#![expect(deprecated, reason = "rmcp marks MCP logging deprecated (SEP-2577); protocol 2025-11-25 has it")]

use std::sync::atomic::{AtomicU8, Ordering};

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::{Peer, RoleServer};
use toolkit_core::{Error, ErrorKind};
use toolkit_runtime::CallOutcome;

/// The logger named in every message.
const LOGGER: &str = "toolkit-gateway";

/// The level a session's client set, if it set one.
#[derive(Debug, Default)]
pub(crate) struct SessionLog {
    /// 0 while no level is set, else the level's severity plus one.
    level: AtomicU8,
}

impl SessionLog {
    /// Sets the least severe level the client wants.
    pub fn set(&self, level: LoggingLevel) {
        self.level.store(severity(level) + 1, Ordering::Relaxed);
    }

    /// Whether a message at `level` is wanted.
    pub fn wants(&self, level: LoggingLevel) -> bool {
        match self.level.load(Ordering::Relaxed) {
            0 => false,
            set => severity(level) + 1 >= set,
        }
    }

    /// Tells the client that a call of `tool` starts.
    pub async fn call_started(&self, peer: &Peer<RoleServer>, tool: &str) {
        self.send(peer, LoggingLevel::Debug, || format!("call {tool}: started")).await;
    }

    /// Tells the client how a call of `tool` ended.
    pub async fn call_ended(&self, peer: &Peer<RoleServer>, tool: &str, outcome: &Result<CallOutcome, Error>) {
        match outcome {
            Ok(o) => {
                let ms = o.duration.as_millis();
                self.send(peer, LoggingLevel::Info, || format!("call {tool}: ok in {ms} ms")).await;
            }
            Err(e) => {
                let level = failure_level(e.kind());
                self.send(peer, level, || format!("call {tool}: failed ({}): {e}", e.kind())).await;
            }
        }
    }

    async fn send(&self, peer: &Peer<RoleServer>, level: LoggingLevel, message: impl FnOnce() -> String) {
        if !self.wants(level) {
            return;
        }
        let mut param = LoggingMessageNotificationParam::new(level, message().into());
        param.logger = Some(LOGGER.into());
        if let Err(e) = peer.notify_logging_message(param).await {
            tracing::debug!(error = %e, "could not send a log message to a session");
        }
    }
}

/// `warning` for a request the gateway refused, `error` for a call that failed.
fn failure_level(kind: ErrorKind) -> LoggingLevel {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Denied | ErrorKind::NotFound | ErrorKind::Cancelled => {
            LoggingLevel::Warning
        }
        _ => LoggingLevel::Error,
    }
}

/// Levels in order of severity (RFC 5424, as MCP lists them).
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_until_a_level_is_set_then_that_level_and_above() {
        let log = SessionLog::default();
        assert!(!log.wants(LoggingLevel::Emergency));
        log.set(LoggingLevel::Warning);
        assert!(!log.wants(LoggingLevel::Info));
        assert!(log.wants(LoggingLevel::Warning) && log.wants(LoggingLevel::Error));
        log.set(LoggingLevel::Debug);
        assert!(log.wants(LoggingLevel::Debug));
    }

    #[test]
    fn refusals_are_warnings() {
        assert_eq!(failure_level(ErrorKind::InvalidInput), LoggingLevel::Warning);
        assert_eq!(failure_level(ErrorKind::Unreachable), LoggingLevel::Error);
    }
}
