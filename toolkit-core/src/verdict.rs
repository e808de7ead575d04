//! Classes, reasons and verdicts: what a classifier says about a call, a command or a
//! statement. Connectors classify their own calls ([`ToolInstance::classify`]), mostly with the
//! classifiers of `toolkit-policy`; the pipeline refuses more than reads on `readOnly` tools and
//! decides approvals from the verdict.
//!
//! [`ToolInstance::classify`]: crate::ToolInstance::classify

use std::fmt;

use serde::{Deserialize, Serialize};

/// How severe a command is. The order is the severity order: a command made of several parts
/// takes the most severe class of its parts.
///
/// `Sensitive` ranks just above `Read`: it changes nothing but reads secrets or credentials, or
/// sends local data to the network, so it is not auto-approved as a read (the approval settings
/// decide it on its own, also when a more severe part sets the class). `Unknown` ranks above
/// `Write` because a part that cannot be classified may write, and below `Interactive` and
/// `Dangerous` because those are known to need a terminal or to do damage. Dangerous ranks
/// highest so that no other part can hide a dangerous one; interactive parts are refused
/// whatever the approval settings (`toolkit_policy::decide`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Only reads.
    Read,
    /// Changes nothing, but reads secrets, raw kubeconfigs or credentials, or sends local data
    /// to the network.
    Sensitive,
    /// Changes something.
    Write,
    /// Could not be classified (unparsable, computed at run time, or not in the rules).
    Unknown,
    /// Needs a terminal (editors, pagers, `exec -it`, port forwarding).
    Interactive,
    /// Destroys data or takes a system down.
    Dangerous,
}

impl Class {
    /// Every class, in severity order.
    pub const ALL: [Class; 6] =
        [Class::Read, Class::Sensitive, Class::Write, Class::Unknown, Class::Interactive, Class::Dangerous];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Sensitive => "sensitive",
            Class::Write => "write",
            Class::Unknown => "unknown",
            Class::Interactive => "interactive",
            Class::Dangerous => "dangerous",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Class {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Class::Read),
            "sensitive" => Ok(Class::Sensitive),
            "write" => Ok(Class::Write),
            "unknown" => Ok(Class::Unknown),
            "interactive" => Ok(Class::Interactive),
            "dangerous" => Ok(Class::Dangerous),
            other => Err(format!(
                "unknown class `{other}`; classes: read, sensitive, write, unknown, interactive, dangerous"
            )),
        }
    }
}

/// Why a part of a command has its class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// The class this reason gives.
    pub class: Class,
    /// The part of the input it is about: a simple command, a statement, a redirection.
    pub part: String,
    /// The rule that matched (a stable id such as `shell.rm.recursive-root`).
    pub rule: &'static str,
    /// What the rule found, for people.
    pub message: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`: {} ({})", self.class, self.part, self.message, self.rule)
    }
}

/// The class of a whole input and every reason behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The most severe class of any part.
    pub class: Class,
    /// One or more reasons per part, in the order the parts appear.
    pub reasons: Vec<Reason>,
    /// Every simple command found, as words after quote removal (wrappers both with and
    /// without their wrapper), for blocked patterns; empty for text that has no commands.
    #[serde(skip)]
    pub commands: Vec<Vec<String>>,
}

impl Verdict {
    /// A verdict of one reason: `rule` found `message` about `part`.
    pub fn one(class: Class, part: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self::from_reasons(vec![Reason { class, part: part.into(), rule, message: message.into() }])
    }

    /// A verdict from its reasons; no reason at all is an empty input, which reads nothing.
    pub fn from_reasons(reasons: Vec<Reason>) -> Self {
        let class = reasons.iter().map(|r| r.class).max().unwrap_or(Class::Read);
        Verdict { class, reasons, commands: Vec::new() }
    }

    /// Whether any part has `class`.
    pub fn has(&self, class: Class) -> bool {
        self.reasons.iter().any(|r| r.class == class)
    }

    /// The reasons of the parts that set the verdict's class.
    pub fn decisive(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(move |r| r.class == self.class)
    }

    /// The simple commands found, as words (for blocked patterns).
    pub fn commands(&self) -> &[Vec<String>] {
        &self.commands
    }
}
