//! The policy step of the pipeline: a replaceable [`CallPolicy`] that sees each request with its
//! connector's classification before it runs.

use async_trait::async_trait;
use toolkit_core::{Class, Request, Result, Verdict};

use crate::{Caller, PreparedTool};

/// One request as the policy sees it.
#[derive(Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// The tool.
    pub tool: &'a PreparedTool,
    /// Who asks.
    pub caller: &'a Caller,
    /// The call's arguments or the person's command.
    pub request: Request<'a>,
    /// What the tool's connector says the request would do; `None` when its type does not
    /// classify requests.
    pub verdict: Option<&'a Verdict>,
}

/// What the policy decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyDecision {
    /// Go on to the approval step.
    Allow,
    /// Refuse, with the reasons (audited, and told to the caller).
    Deny(Vec<String>),
}

/// Decides whether a request may go on; runs after the arguments are valid and the rate limit
/// admitted it, before approval.
#[async_trait]
pub trait CallPolicy: Send + Sync {
    /// Looks at one request before it runs.
    async fn check(&self, request: &PolicyRequest<'_>) -> Result<PolicyDecision>;
}

/// The default policy: a tool with `readOnly: true` runs only requests its connector classifies
/// as reads (one SQL statement that only reads, a shell command of read-only programs...).
/// Engines also run such requests read-only where they can, so this is the first of two layers;
/// a type that does not classify its requests relies on its engine alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOnlyPolicy;

#[async_trait]
impl CallPolicy for ReadOnlyPolicy {
    async fn check(&self, request: &PolicyRequest<'_>) -> Result<PolicyDecision> {
        let Some(verdict) = request.verdict.filter(|_| request.tool.spec().read_only) else {
            return Ok(PolicyDecision::Allow);
        };
        if verdict.class == Class::Read {
            return Ok(PolicyDecision::Allow);
        }
        let reasons = verdict.reasons.iter().filter(|r| r.class > Class::Read).map(|r| r.message.clone()).collect();
        Ok(PolicyDecision::Deny(reasons))
    }
}
