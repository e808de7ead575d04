//! What the pipeline decided about one request, as the audit log keeps it and the CLI shows it.

use std::fmt;

use serde::{Deserialize, Serialize};
use toolkit_core::Class;

/// The decision about one call, command or operation. Each pipeline step that can stop a
/// request says so with its own variant; `Display` gives the one-line form the CLI prints and
/// the `decision` column of the audit table holds (`auto-approved (read)`, `denied: rate
/// limited`...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Decision {
    /// No rule stood in the way.
    Allowed,
    /// The request's class let it run without a person (`auto-approved (read)`).
    AutoApproved {
        /// Its class.
        class: Class,
    },
    /// A person's own command (`toolkit tool exec`) that an agent's call would have needed
    /// approval for: the person running it is the one who decides.
    OwnCommand {
        /// Its class.
        class: Class,
    },
    /// A person other than the caller approved it.
    Approved {
        /// Who approved.
        by: String,
    },
    /// Nobody decided in time and the tool says `onTimeout: proceed`.
    TimeoutProceeded,
    /// Engine permissions were applied (the tool's `permissions.mode` is `enforce`).
    Applied,
    /// Refused by a step of the pipeline before it ran.
    Denied {
        /// Which step refused it.
        refusal: Refusal,
        /// The policy's reasons, for [`Refusal::Policy`].
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<String>,
    },
    /// Refused by the approval policy: an interactive or dangerous part, or a blocked pattern.
    Blocked {
        /// Why, rule first.
        reasons: Vec<String>,
    },
    /// A person rejected it.
    Rejected {
        /// Who rejected.
        by: String,
        /// What they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Nobody decided in time, and the tool fails closed.
    TimedOut,
    /// The caller went away or cancelled before it finished.
    Cancelled,
    /// A decision written by an earlier version, as its text.
    Recorded {
        /// The text as stored.
        text: String,
    },
}

/// The pipeline step that refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Refusal {
    /// The tool is outside the caller's scope (or not declared).
    Scope,
    /// The tool is disabled.
    Disabled,
    /// The arguments or the command are invalid.
    Arguments,
    /// A rate limit is reached.
    RateLimited,
    /// The rate limit could not be checked (its store did not answer).
    RateLimitUnavailable,
    /// The call policy refused it (`readOnly`...).
    Policy,
    /// Permissions were to be applied, but the tool only declares them.
    DeclareMode,
}

impl Refusal {
    /// The words after `denied: `.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Scope => "outside the caller's scope",
            Refusal::Disabled => "disabled",
            Refusal::Arguments => "invalid arguments",
            Refusal::RateLimited => "rate limited",
            Refusal::RateLimitUnavailable => "rate limit unavailable",
            Refusal::Policy => "policy",
            Refusal::DeclareMode => "declare mode",
        }
    }
}

impl Decision {
    /// Refused at `refusal`, with no further reasons.
    pub fn denied(refusal: Refusal) -> Self {
        Decision::Denied { refusal, reasons: Vec::new() }
    }

    /// Whether the request was let through (it may still have failed).
    pub fn admitted(&self) -> bool {
        matches!(
            self,
            Decision::Allowed
                | Decision::AutoApproved { .. }
                | Decision::OwnCommand { .. }
                | Decision::Approved { .. }
                | Decision::TimeoutProceeded
                | Decision::Applied
        )
    }

    /// Every [`kind`](Self::kind), in the order of the variants.
    pub const KINDS: &'static [&'static str] = &[
        "allowed",
        "autoApproved",
        "ownCommand",
        "approved",
        "timeoutProceeded",
        "applied",
        "denied",
        "blocked",
        "rejected",
        "timedOut",
        "cancelled",
        "recorded",
    ];

    /// A short stable name of the variant (`autoApproved`, `denied`...), for filters.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::AutoApproved { .. } => "autoApproved",
            Decision::OwnCommand { .. } => "ownCommand",
            Decision::Approved { .. } => "approved",
            Decision::TimeoutProceeded => "timeoutProceeded",
            Decision::Applied => "applied",
            Decision::Denied { .. } => "denied",
            Decision::Blocked { .. } => "blocked",
            Decision::Rejected { .. } => "rejected",
            Decision::TimedOut => "timedOut",
            Decision::Cancelled => "cancelled",
            Decision::Recorded { .. } => "recorded",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed => f.write_str("allowed"),
            Decision::AutoApproved { class } => write!(f, "auto-approved ({class})"),
            Decision::OwnCommand { class } => write!(f, "the person's own command ({class})"),
            Decision::Approved { by } => write!(f, "approved by {by}"),
            Decision::TimeoutProceeded => f.write_str("timed out, proceeded (onTimeout: proceed)"),
            Decision::Applied => f.write_str("applied"),
            Decision::Denied { refusal: Refusal::Policy, reasons } => write!(f, "denied: {}", reasons.join("; ")),
            Decision::Denied { refusal, .. } => write!(f, "denied: {}", refusal.as_str()),
            Decision::Blocked { reasons } => write!(f, "blocked: {}", reasons.join("; ")),
            Decision::Rejected { by, reason: Some(why) } => write!(f, "rejected by {by}: {why}"),
            Decision::Rejected { by, reason: None } => write!(f, "rejected by {by}"),
            Decision::TimedOut => f.write_str("timed out"),
            Decision::Cancelled => f.write_str("cancelled"),
            Decision::Recorded { text } => f.write_str(text),
        }
    }
}

/// Serializes a decision as its one-line text.
pub(crate) fn as_text<S: serde::Serializer>(d: &Decision, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// Reads a decision written as text, or in its typed form.
pub(crate) fn from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decision, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Typed(Decision),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(text) => Decision::Recorded { text },
        Either::Typed(decision) => decision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_the_audit_wording_and_round_trips_as_json() {
        let cases = [
            (Decision::AutoApproved { class: Class::Read }, "auto-approved (read)"),
            (Decision::denied(Refusal::RateLimited), "denied: rate limited"),
            (Decision::Denied { refusal: Refusal::Policy, reasons: vec!["a write".into()] }, "denied: a write"),
            (Decision::Rejected { by: "local:bo".into(), reason: Some("no".into()) }, "rejected by local:bo: no"),
            (Decision::Cancelled, "cancelled"),
        ];
        for (d, text) in cases {
            assert_eq!(d.to_string(), text);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d, "{json}");
        }
        assert!(Decision::Approved { by: "x".into() }.admitted());
        assert!(!Decision::TimedOut.admitted());
    }
}
