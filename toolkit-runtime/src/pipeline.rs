//! The pipeline: the named steps every request takes, an agent's call and a person's command
//! alike.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use toolkit_core::connector::{Invocation, InvokeOutput};
use toolkit_core::secret::Redactor;
use toolkit_core::{Error, ErrorKind, Request, Result, ToolRef, Verdict};
use toolkit_state::{AuditRecord, Decision, Outcome, Refusal};
use tracing::Instrument as _;

use crate::policy::{PolicyDecision, PolicyRequest};
use crate::{Caller, PreparedTool, Runtime};

/// Bytes of arguments kept in an audit record.
const AUDIT_ARGS_MAX: usize = 4096;
/// Characters of one argument validation message kept.
const VALIDATION_MESSAGE_CHARS: usize = 200;
/// Argument validation failures listed at most.
const VALIDATION_FAILURES_MAX: usize = 10;

/// The steps of the pipeline, in order. Each of the first seven may stop a request with a
/// refusal that becomes the audit record's [`Decision`], and invoke with the tool's error;
/// redact, cap, count and audit happen to every request, refused or not. Redaction comes
/// before the cap so that a cut can never leave part of a secret that redaction would miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// The tool is within the caller's scope (else: the same error as an undeclared tool).
    Scope,
    /// The tool is enabled.
    Enabled,
    /// The arguments match the input schema (a command is not empty).
    Arguments,
    /// The tool's and the caller's rate limits admit it.
    RateLimit,
    /// The tool's connector classifies what it would do.
    Classify,
    /// The [`CallPolicy`](crate::CallPolicy) lets it go on.
    Policy,
    /// The approval policy allows it, or a person approves it.
    Approval,
    /// The connector runs it, within the tool's timeout.
    Invoke,
    /// Every secret value is taken out of the output or the error.
    Redact,
    /// The output is cut to the tool's byte cap.
    Cap,
    /// The tool's call counters are updated.
    Count,
    /// The audit record is written, durably, before the reply.
    Audit,
}

/// A successful call.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// The (capped, redacted) output.
    pub output: InvokeOutput,
    /// Wall time of the call.
    pub duration: Duration,
}

/// Hears how a call is going while it runs. The gateway turns it into MCP progress
/// notifications, so a client waiting on a person's approval knows why, and a client that resets
/// its request timeout on progress keeps waiting.
pub trait CallObserver: Send + Sync {
    /// The call waits; `message` says for what and what ends the wait. Called when the wait
    /// starts and every few seconds while it lasts.
    fn waiting(&self, message: &str);
}

/// Opens the session a command runs through, when it is not the tool instance's own (a
/// bastion pod, whose credentials the process running the pipeline never reads).
#[async_trait::async_trait]
pub trait SessionOpener: Send + Sync + std::fmt::Debug {
    /// A session of `tool`, closed by the pipeline when the command ends.
    async fn open(&self, tool: &crate::PreparedTool) -> Result<Box<dyn toolkit_core::Session>>;
}

/// What goes through the pipeline.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Work<'a> {
    /// An agent's call with its arguments.
    Call(&'a Value),
    /// A person's command through a session: the tool instance's, or one `opener` opens.
    Exec(&'a [String], Option<&'a dyn SessionOpener>),
}

impl Work<'_> {
    /// The audit record's operation.
    fn operation(&self) -> &'static str {
        match self {
            Work::Call(_) => "call",
            Work::Exec(..) => "exec",
        }
    }

    /// What it is called in messages.
    pub(crate) fn noun(&self) -> &'static str {
        match self {
            Work::Call(_) => "call",
            Work::Exec(..) => "command",
        }
    }

    /// The arguments or the command as JSON, for the audit record.
    fn as_json(&self) -> Value {
        match self {
            Work::Call(args) => (*args).clone(),
            Work::Exec(command, _) => Value::from(command.to_vec()),
        }
    }
}

impl Runtime {
    /// Runs one call through the whole pipeline. Every outcome, including refusals, is counted
    /// and audited before this returns; errors are already redacted.
    pub async fn call(&self, caller: &Caller, reference: &ToolRef, arguments: Value) -> Result<CallOutcome> {
        self.call_until(caller, reference, arguments, std::future::pending()).await
    }

    /// [`call`](Self::call), stopped early when `cancelled` completes (the caller went away or
    /// cancelled the request). A stopped call fails with [`ErrorKind::Cancelled`] and is still
    /// counted and audited, with the decision `cancelled`, so dropping the invocation never
    /// loses its audit record.
    pub async fn call_until(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        arguments: Value,
        cancelled: impl Future<Output = ()>,
    ) -> Result<CallOutcome> {
        self.call_observed(caller, reference, arguments, cancelled, None).await
    }

    /// [`call_until`](Self::call_until), telling `observer` while the call waits (for approval).
    pub async fn call_observed(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        arguments: Value,
        cancelled: impl Future<Output = ()>,
        observer: Option<&dyn CallObserver>,
    ) -> Result<CallOutcome> {
        self.run(caller, reference, Work::Call(&arguments), cancelled, observer).await
    }

    /// Runs one command through a session of the tool (`toolkit tool exec`): the same steps as
    /// a call, audited with the operation `exec`. Only the approval step differs: a command that
    /// an agent's call would need approval for runs, because the person running it decides.
    pub async fn exec(&self, caller: &Caller, reference: &ToolRef, command: &[String]) -> Result<InvokeOutput> {
        self.exec_until(caller, reference, command, std::future::pending()).await
    }

    /// [`exec`](Self::exec), stopped early when `cancelled` completes (the person pressed
    /// Ctrl-C), still audited.
    pub async fn exec_until(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        command: &[String],
        cancelled: impl Future<Output = ()>,
    ) -> Result<InvokeOutput> {
        self.run(caller, reference, Work::Exec(command, None), cancelled, None).await.map(|o| o.output)
    }

    /// [`exec_until`](Self::exec_until) through a session `opener` opens instead of the tool
    /// instance's (a bastion pod): the same steps, audit included.
    pub async fn exec_in(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        command: &[String],
        opener: &dyn SessionOpener,
        cancelled: impl Future<Output = ()>,
    ) -> Result<InvokeOutput> {
        self.run(caller, reference, Work::Exec(command, Some(opener)), cancelled, None).await.map(|o| o.output)
    }

    async fn run(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        work: Work<'_>,
        cancelled: impl Future<Output = ()>,
        observer: Option<&dyn CallObserver>,
    ) -> Result<CallOutcome> {
        let started = Instant::now();
        let time = chrono::Utc::now();
        let redactor = Redactor::new(&self.secret_values());
        let mut decision = Decision::Allowed;
        let finished = tokio::select! {
            result = self.steps(caller, reference, work, &mut decision, observer) => Some(result),
            () = cancelled => None,
        };
        let result = finished.unwrap_or_else(|| {
            decision = Decision::Cancelled;
            Err(Error::new(ErrorKind::Cancelled, format!("finish the {}: the caller cancelled it", work.noun()))
                .with_context("tool", reference))
        });
        let duration = started.elapsed();
        // Redact, then cap: a cut can never leave part of a secret that redaction would miss.
        // Output the connector cut already may end in the start of a secret: that is redacted
        // too.
        let result = match result {
            Ok(mut out) => {
                let redacted =
                    if out.truncated { redactor.cut_json(&mut out.content) } else { redactor.json(&mut out.content) };
                if redacted {
                    out.metadata.insert("redacted".into(), Value::Bool(true));
                }
                cap_output(&mut out, self.tool(reference).map(|t| t.limits().max_output_bytes).unwrap_or(usize::MAX));
                Ok(out)
            }
            Err(e) => Err(e.map_text(|s| redactor.text(s))),
        };
        // Calls of undeclared tools, and of tools the caller may not see, are audited but
        // counted nowhere.
        let counted = caller.may_call(reference) && self.catalog().tools.contains_key(reference);
        let record = AuditRecord {
            id: 0,
            time,
            caller: caller.id.clone(),
            tool: reference.clone(),
            operation: work.operation().into(),
            arguments: Some(audit_arguments(work.as_json(), &redactor)),
            decision,
            duration_ms: duration.as_secs_f64() * 1000.0,
            outcome: if result.is_ok() { Outcome::Ok } else { Outcome::Error },
            error_kind: result.as_ref().err().map(|e| e.kind().as_str().to_owned()),
            error: result.as_ref().err().map(ToString::to_string),
        };
        let span = tracing::debug_span!("audit", otel.name = "audit");
        if counted {
            self.state().record_call_audit(&record).instrument(span).await?;
        } else {
            self.state().append_audit(&record).instrument(span).await?;
        }
        result.map(|output| CallOutcome { output, duration })
    }

    /// The steps up to and including invoke; sets the decision of a refusal.
    async fn steps(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        work: Work<'_>,
        decision: &mut Decision,
        observer: Option<&dyn CallObserver>,
    ) -> Result<InvokeOutput> {
        // Scope.
        if !caller.may_call(reference) {
            *decision = Decision::denied(Refusal::Scope);
            return Err(not_declared(reference));
        }
        let tool = self.tool(reference).map_err(|e| {
            // The usual error names tools of the same name elsewhere; a scoped caller gets none.
            if caller.scope.is_some() && e.kind() == ErrorKind::NotFound { not_declared(reference) } else { e }
        })?;
        let ctx = |e: Error| e.with_context("tool", reference);
        // Enabled.
        if !tool.spec().enabled {
            *decision = Decision::denied(Refusal::Disabled);
            return Err(ctx(Error::new(
                ErrorKind::Denied,
                format!("{} a disabled tool (spec.enabled: false)", verb(work)),
            )));
        }
        // Arguments.
        let request = match work {
            Work::Call(arguments) => {
                let Value::Object(args) = arguments else {
                    *decision = Decision::denied(Refusal::Arguments);
                    return Err(ctx(Error::invalid_input("arguments must be a JSON object")));
                };
                if let Err(e) = check_arguments(tool, arguments) {
                    *decision = Decision::denied(Refusal::Arguments);
                    return Err(ctx(e));
                }
                Request::Call(args)
            }
            Work::Exec(command, _) => {
                if command.iter().all(|w| w.trim().is_empty()) {
                    *decision = Decision::denied(Refusal::Arguments);
                    return Err(ctx(Error::invalid_input("run a command: the command is empty")));
                }
                Request::Command(command)
            }
        };
        // Rate limit.
        if let Some(limiter) = tool.limiter() {
            match limiter
                .acquire(&caller.id)
                .instrument(tracing::debug_span!("rate_limit", otel.name = "rate limit"))
                .await
            {
                Ok(None) => {}
                Ok(Some(wait)) => {
                    *decision = Decision::denied(Refusal::RateLimited);
                    let secs = wait.as_secs_f64().max(0.1);
                    // Whole milliseconds, rounded up: retrying after that many is never too early.
                    let millis = wait.as_micros().div_ceil(1000);
                    return Err(ctx(Error::new(ErrorKind::Denied, format!("rate limit reached; retry in {secs:.1}s"))
                        .with_context(crate::limits::RETRY_AFTER_MS, millis)
                        .set_retryable(true)));
                }
                Err(e) => {
                    *decision = Decision::denied(Refusal::RateLimitUnavailable);
                    return Err(ctx(e));
                }
            }
        }
        // Classify.
        let verdict: Option<Verdict> = tool.instance().classify(request);
        // Policy.
        let policy_request = PolicyRequest { tool, caller, request, verdict: verdict.as_ref() };
        match self.inner.policy.check(&policy_request).await.map_err(ctx)? {
            PolicyDecision::Allow => {}
            PolicyDecision::Deny(reasons) => {
                let text = reasons.join("; ");
                *decision = Decision::Denied { refusal: Refusal::Policy, reasons };
                return Err(ctx(Error::new(ErrorKind::Denied, format!("policy refused the {}: {text}", work.noun()))));
            }
        }
        // Approval.
        let redactor = Redactor::new(&self.secret_values());
        let audited = audit_arguments(work.as_json(), &redactor);
        // A span only for a tool that may wait on a person.
        let may_wait = tool.spec().approval.is_some() || tool.type_info().is_some_and(|i| i.approval_by_default);
        let span =
            if may_wait { tracing::debug_span!("approval", otel.name = "approval") } else { tracing::Span::none() };
        self.approval_step(tool, caller, work, verdict.as_ref(), audited, decision, observer)
            .instrument(span)
            .await
            .map_err(ctx)?;
        // Invoke.
        let limits = tool.limits();
        match work {
            Work::Call(_) => {
                let Request::Call(args) = request else { unreachable!("a call's request is a call") };
                let invoker = tool.instance().invoker().ok_or_else(|| {
                    ctx(Error::unsupported(format!("call a `{}` tool: this type has no invoke", tool.spec().type_)))
                })?;
                let call = Invocation { arguments: args.clone(), limits, subject_token: caller.subject_token.clone() };
                let span =
                    tracing::debug_span!("invoke", otel.name = "invoke", "toolkit.tool.type" = %tool.spec().type_);
                match tokio::time::timeout(limits.timeout, invoker.invoke(call)).instrument(span).await {
                    Ok(result) => result.map_err(ctx),
                    Err(_) => Err(ctx(Error::new(
                        ErrorKind::Timeout,
                        format!("call did not finish within {:?}", limits.timeout),
                    ))),
                }
            }
            Work::Exec(command, opener) => {
                let session = match opener {
                    Some(o) => o.open(tool).await,
                    None => tool.instance().open_session().await,
                }
                .map_err(ctx)?;
                let span = tracing::debug_span!("invoke", otel.name = "exec", "toolkit.tool.type" = %tool.spec().type_);
                let out = tokio::time::timeout(limits.timeout, session.exec(command, &limits)).instrument(span).await;
                session.close().await;
                match out {
                    Ok(r) => r.map_err(ctx),
                    Err(_) => Err(ctx(Error::new(
                        ErrorKind::Timeout,
                        format!("command did not finish within {:?}", limits.timeout),
                    ))),
                }
            }
        }
    }
}

/// `call` or `run a command on`, for messages about the tool.
fn verb(work: Work<'_>) -> &'static str {
    match work {
        Work::Call(_) => "call",
        Work::Exec(..) => "run a command on",
    }
}

/// Validates the arguments against the compiled input schema. Messages quote the offending
/// value, which may be megabytes: each is kept short, and a few are listed.
fn check_arguments(tool: &PreparedTool, arguments: &Value) -> Result<()> {
    let mut failures: Vec<String> = tool
        .validator()
        .iter_errors(arguments)
        .take(VALIDATION_FAILURES_MAX + 1)
        .map(|e| {
            let path = e.instance_path.to_string();
            let text = format!("{}: {e}", if path.is_empty() { "/".to_owned() } else { path });
            shorten(&text, VALIDATION_MESSAGE_CHARS)
        })
        .collect();
    if failures.len() > VALIDATION_FAILURES_MAX {
        failures.truncate(VALIDATION_FAILURES_MAX);
        failures.push("and more".into());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_input(format!("invalid arguments: {}", failures.join("; "))))
    }
}

/// What a caller is told about a tool that is not declared, or that it may not see: the same
/// words either way.
fn not_declared(reference: &ToolRef) -> Error {
    Error::not_found(format!("tool {reference} is not declared"))
}

/// `text` cut to `max` characters, marked with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Cuts output whose JSON form is longer than `max` bytes, and marks it.
pub(crate) fn cap_output(out: &mut InvokeOutput, max: usize) {
    let text = out.content.to_string();
    if text.len() <= max {
        return;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    out.content = Value::String(format!("{}… [truncated: {} of {} bytes]", &text[..cut], cut, text.len()));
    out.truncated = true;
    out.metadata.insert("truncatedBytes".into(), Value::from(text.len() - cut));
}

fn audit_arguments(mut args: Value, redactor: &Redactor) -> Value {
    redactor.json(&mut args);
    let text = args.to_string();
    if text.len() <= AUDIT_ARGS_MAX {
        return args;
    }
    let mut cut = AUDIT_ARGS_MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut m = Map::new();
    m.insert("truncated".into(), Value::Bool(true));
    m.insert("bytes".into(), Value::from(text.len()));
    m.insert("preview".into(), Value::String(text[..cut].to_owned()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::secret::REDACTED;

    #[test]
    fn caps_and_marks() {
        let mut out = InvokeOutput::new(Value::String("x".repeat(100)));
        cap_output(&mut out, 64);
        assert!(out.truncated);
        assert!(out.content.as_str().unwrap().contains("truncated"));
    }

    #[test]
    fn long_messages_are_shortened() {
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("ééé", 3), "ééé");
    }

    #[test]
    fn audit_arguments_are_redacted() {
        let redactor = Redactor::new(&[toolkit_core::SecretString::new("hunter22")]);
        let v = audit_arguments(serde_json::json!({"q": "pw hunter22"}), &redactor);
        assert_eq!(v["q"], format!("pw {REDACTED}"));
    }
}
