//! The one error type of the toolkit libraries.
//!
//! An [`Error`] has a [`ErrorKind`] that callers branch on (and that maps to CLI exit codes and
//! MCP results), a message written as a lowercase fragment that reads well after "failed to",
//! key-value context (tool, field, file...), whether retrying may help, and a source chain.
//! Messages and context never carry secret values: connectors build errors from their own words
//! and from driver errors that do not echo credentials, and the runtime redacts every resolved
//! secret from error text as a last line of defence.

use std::fmt;

/// What went wrong, in the terms a caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A manifest, flag or setting is wrong; fix the configuration.
    Config,
    /// The upstream refused the credentials.
    Auth,
    /// The upstream could not be reached (DNS, refused, reset, TLS handshake).
    Unreachable,
    /// The operation did not finish in time.
    Timeout,
    /// Policy, permissions or a rate limit refused the operation.
    Denied,
    /// The caller's input (arguments, command) is invalid.
    InvalidInput,
    /// The upstream answered with an error of its own.
    Upstream,
    /// The tool type or connector does not support the operation.
    Unsupported,
    /// The caller cancelled the operation or went away before it finished.
    Cancelled,
    /// Something that names no tool, secret or session exists.
    NotFound,
    /// A bug or an unexpected local failure.
    Internal,
}

impl ErrorKind {
    /// A stable snake_case name, used in JSON output, audit records and status.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Denied => "denied",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether the same call may succeed later without any change.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Unreachable | ErrorKind::Timeout)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of every toolkit library.
pub struct Error {
    kind: ErrorKind,
    message: String,
    retryable: bool,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind`; `message` is a lowercase fragment such as "connect to postgres".
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), retryable: kind.is_transient(), context: Vec::new(), source: None }
    }

    /// Shorthand for [`ErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Adds a key-value pair of context, such as `("tool", "prod/pg")`. A pair the error
    /// already has is not added again: a connector and the pipeline above it may both name the
    /// tool, and the message names it once.
    pub fn with_context(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        let value = value.to_string();
        if !self.context.iter().any(|(k, v)| *k == key && *v == value) {
            self.context.push((key, value));
        }
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Overrides whether a retry may help.
    pub fn set_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the same call may succeed if retried unchanged.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The message without context or source.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The key-value context, in the order it was added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The value of one context key, if present.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    /// Rewrites every string this error will print (message, context and the rendered source)
    /// with `f`; used to redact secret values before an error leaves the runtime.
    pub fn map_text(self, f: impl Fn(&str) -> String) -> Self {
        let source = self.source.as_ref().map(|s| f(&chain(s.as_ref())));
        Self {
            kind: self.kind,
            message: f(&self.message),
            retryable: self.retryable,
            context: self.context.into_iter().map(|(k, v)| (k, f(&v))).collect(),
            source: source.map(|s| Box::new(TextError(s)) as Box<dyn std::error::Error + Send + Sync>),
        }
    }
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// A source error reduced to (already redacted) text.
#[derive(Debug)]
struct TextError(String);

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TextError {}

impl fmt::Display for Error {
    /// One line: `message (key: value, ...): source: cause`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (k, v)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}: {v}")?;
            }
            f.write_str(")")?;
        }
        if let Some(source) = &self.source {
            let text = chain(source.as_ref());
            write!(f, ": {}", one_line(&text))?;
        }
        Ok(())
    }
}

/// Folds a multi-line driver message into one line.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("context", &self.context)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_on_one_line_with_context_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused\nby peer");
        let err =
            Error::new(ErrorKind::Unreachable, "connect to the server").with_context("tool", "prod/db").with_source(io);
        assert_eq!(err.to_string(), "connect to the server (tool: prod/db): refused; by peer");
        assert!(err.is_retryable());
    }

    #[test]
    fn context_names_each_pair_once() {
        let err = Error::not_found("open the database file")
            .with_context("hint", "check spec.config.path")
            .with_context("tool", "bars/bar-lite")
            .with_context("tool", "bars/bar-lite");
        assert_eq!(err.to_string(), "open the database file (hint: check spec.config.path, tool: bars/bar-lite)");
        // Different values of one key are both kept: a tool and the tool it connects through.
        let err = err.with_context("tool", "bars/kube");
        assert_eq!(err.context().len(), 3);
    }

    #[test]
    fn map_text_rewrites_everything() {
        let err = Error::config("bad s3cret")
            .with_context("field", "s3cret")
            .with_source(std::io::Error::other("s3cret leaked"));
        let err = err.map_text(|s| s.replace("s3cret", "[redacted]"));
        assert!(!err.to_string().contains("s3cret"));
    }
}
