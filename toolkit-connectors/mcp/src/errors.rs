//! Mapping MCP client failures to [`ErrorKind`]s.
//!
//! Messages are toolkit's own words plus the deepest cause of a transport failure (such as
//! "Connection refused"); neither carries credentials, and the runtime redacts every known
//! secret from errors as well.

use std::fmt;

use rmcp::ErrorData;
use rmcp::model::ErrorCode;
use rmcp::service::{ClientInitializeError, ServiceError};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, StreamableHttpError,
};
use toolkit_core::{Error, ErrorKind};

/// Text of an upstream failure, kept as the source of an [`Error`].
#[derive(Debug)]
pub(crate) struct UpstreamText(pub(crate) String);

impl fmt::Display for UpstreamText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UpstreamText {}

/// Characters of upstream text kept in an error.
const TEXT_MAX: usize = 2000;

/// `text` cut to a size an error message can carry.
pub(crate) fn clip(text: &str) -> String {
    if text.chars().count() <= TEXT_MAX {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(TEXT_MAX).collect();
    out.push('…');
    out
}

/// What the chain of `err` says about the failure, as (kind, deepest cause).
fn transport_failure(err: &(dyn std::error::Error + 'static)) -> (ErrorKind, String) {
    let mut kind = ErrorKind::Unreachable;
    let mut current = Some(err);
    let mut deepest = err.to_string();
    while let Some(e) = current {
        if e.downcast_ref::<AuthRequiredError>().is_some() || e.downcast_ref::<InsufficientScopeError>().is_some() {
            kind = ErrorKind::Auth;
        } else if let Some(status) = e.downcast_ref::<HttpStatusError>() {
            kind = ErrorKind::Upstream;
            deepest = format!("HTTP {}", status.status);
        } else if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                kind = ErrorKind::Timeout;
            } else if let Some(status) = r.status() {
                kind = match status.as_u16() {
                    401 | 403 => ErrorKind::Auth,
                    404 => ErrorKind::Config,
                    _ => ErrorKind::Upstream,
                };
            }
        }
        // rmcp wraps reqwest's error without exposing it as a source.
        if let Some(StreamableHttpError::Client(inner)) = e.downcast_ref::<StreamableHttpError<reqwest::Error>>() {
            current = Some(inner);
            continue;
        }
        if e.source().is_none() {
            deepest = e.to_string();
        }
        current = e.source();
    }
    (kind, deepest)
}

/// A failure to connect to and initialize `server`.
pub(crate) fn initialize(e: &ClientInitializeError, server: &str) -> Error {
    let action = format!("connect to the MCP server {server}");
    let (kind, cause) = match e {
        ClientInitializeError::TransportError { error, .. } => transport_failure(error),
        ClientInitializeError::ConnectionClosed(_) => {
            (ErrorKind::Unreachable, "the server closed the connection during initialize".to_owned())
        }
        ClientInitializeError::JsonRpcError(data) => (ErrorKind::Upstream, data.message.to_string()),
        ClientInitializeError::NoCompatibleProtocolVersion { .. } => {
            (ErrorKind::Unsupported, "no protocol version both sides speak".to_owned())
        }
        ClientInitializeError::Cancelled => (ErrorKind::Unreachable, "cancelled".to_owned()),
        other => (ErrorKind::Upstream, other.to_string()),
    };
    let mut err = Error::new(kind, action).with_source(UpstreamText(clip(&cause)));
    if kind == ErrorKind::Upstream {
        err = err.set_retryable(true);
    }
    err
}

/// A failure of one request (`action` reads well after "failed to").
pub(crate) fn request(e: ServiceError, action: &str) -> Error {
    match e {
        ServiceError::McpError(data) => protocol(&data, action),
        ServiceError::TransportSend(t) => {
            let (kind, cause) = transport_failure(&t);
            Error::new(kind, action.to_owned()).with_source(UpstreamText(clip(&cause)))
        }
        ServiceError::TransportClosed => Error::new(ErrorKind::Unreachable, action.to_owned())
            .with_source(UpstreamText("the connection to the MCP server closed".into())),
        ServiceError::Timeout { timeout } => {
            Error::new(ErrorKind::Timeout, action.to_owned()).with_context("timeout", format!("{timeout:?}"))
        }
        other => Error::new(ErrorKind::Upstream, action.to_owned()).with_source(UpstreamText(clip(&other.to_string()))),
    }
}

/// A JSON-RPC error answered by the server.
pub(crate) fn protocol(data: &ErrorData, action: &str) -> Error {
    let kind = match data.code {
        ErrorCode::INVALID_PARAMS => ErrorKind::InvalidInput,
        ErrorCode::METHOD_NOT_FOUND => ErrorKind::Unsupported,
        _ => ErrorKind::Upstream,
    };
    Error::new(kind, action.to_owned()).with_context("code", data.code.0).with_source(UpstreamText(clip(&data.message)))
}

/// Whether the connection an error came from should be dropped and made again.
pub(crate) fn breaks_connection(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_errors_by_code() {
        let e = protocol(&ErrorData::invalid_params("unknown tool: nope", None), "call `nope`");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "call `nope` (code: -32602): unknown tool: nope");
        let e = request(ServiceError::TransportClosed, "call `x`");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(breaks_connection(&e));
    }

    #[test]
    fn long_text_is_clipped() {
        assert_eq!(clip(&"é".repeat(3000)).chars().count(), TEXT_MAX + 1);
    }
}
