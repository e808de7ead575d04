//! The call pipeline.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use toolkit_core::connector::{Invocation, InvokeOutput};
use toolkit_core::secret::{SecretString, redact_json, redact_text};
use toolkit_core::{Error, ErrorKind, Result, ToolRef};
use toolkit_state::{AuditRecord, Outcome};

use crate::policy::Decision;
use crate::{Caller, Runtime};

/// Bytes of arguments kept in an audit record.
const AUDIT_ARGS_MAX: usize = 4096;
/// Characters of one argument validation message kept.
const VALIDATION_MESSAGE_CHARS: usize = 200;
/// Argument validation failures listed at most.
const VALIDATION_FAILURES_MAX: usize = 10;

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

impl Runtime {
    /// Runs one call through the whole pipeline. Every outcome, including refusals, is counted
    /// and audited before this returns; errors are already redacted.
    pub async fn call(&self, caller: &Caller, reference: &ToolRef, arguments: Value) -> Result<CallOutcome> {
        self.call_until(caller, reference, arguments, std::future::pending()).await
    }

    /// [`call`](Self::call), stopped early when `cancelled` completes (the caller went away or
    /// cancelled the request). A stopped call is still counted and audited, with the decision
    /// `cancelled`, so dropping the invocation never loses its audit record.
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
        let started = Instant::now();
        let time = chrono::Utc::now();
        let secrets = self.secret_values();
        let mut decision = String::from("allowed");
        let finished = tokio::select! {
            result = self.run_call(caller, reference, &arguments, &mut decision, observer) => Some(result),
            () = cancelled => None,
        };
        let result = finished.unwrap_or_else(|| {
            decision = "cancelled".into();
            Err(Error::new(ErrorKind::Timeout, "finish the call: the caller cancelled it")
                .with_context("tool", reference))
        });
        let duration = started.elapsed();
        let result = match result {
            Ok(mut out) => {
                cap_output(&mut out, self.tool(reference).map(|t| t.limits().max_output_bytes).unwrap_or(usize::MAX));
                if redact_json(&mut out.content, &secrets) {
                    out.metadata.insert("redacted".into(), Value::Bool(true));
                }
                Ok(out)
            }
            Err(e) => Err(e.map_text(|s| redact_text(s, &secrets))),
        };
        // Calls of undeclared tools, and of tools the caller may not see, are audited but
        // counted nowhere.
        let counted = caller.may_call(reference) && self.catalog().tools.contains_key(reference);
        let record = AuditRecord {
            id: 0,
            time,
            caller: caller.id.clone(),
            tool: reference.clone(),
            operation: "call".into(),
            arguments: Some(audit_arguments(arguments, &secrets)),
            decision,
            duration_ms: duration.as_secs_f64() * 1000.0,
            outcome: if result.is_ok() { Outcome::Ok } else { Outcome::Error },
            error_kind: result.as_ref().err().map(|e| e.kind().as_str().to_owned()),
            error: result.as_ref().err().map(ToString::to_string),
        };
        if counted {
            self.state().record_call_audit(&record).await?;
        } else {
            self.state().append_audit(&record).await?;
        }
        result.map(|output| CallOutcome { output, duration })
    }

    async fn run_call(
        &self,
        caller: &Caller,
        reference: &ToolRef,
        arguments: &Value,
        decision: &mut String,
        observer: Option<&dyn CallObserver>,
    ) -> Result<InvokeOutput> {
        if !caller.may_call(reference) {
            *decision = "denied: outside the caller's scope".into();
            return Err(not_declared(reference));
        }
        let tool = self.tool(reference).map_err(|e| {
            // The usual error names tools of the same name elsewhere; a scoped caller gets none.
            if caller.scope.is_some() && e.kind() == ErrorKind::NotFound { not_declared(reference) } else { e }
        })?;
        let ctx = |e: Error| e.with_context("tool", reference);
        if !tool.spec().enabled {
            *decision = "denied: disabled".into();
            return Err(ctx(Error::new(ErrorKind::Denied, "call a disabled tool (spec.enabled: false)")));
        }
        let Value::Object(args) = arguments else {
            *decision = "denied: invalid arguments".into();
            return Err(ctx(Error::invalid_input("arguments must be a JSON object")));
        };
        // Messages quote the offending value, which may be megabytes: keep each short, and
        // list a few.
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
        if !failures.is_empty() {
            *decision = "denied: invalid arguments".into();
            return Err(ctx(Error::invalid_input(format!("invalid arguments: {}", failures.join("; ")))));
        }
        if let Some(limiter) = tool.limiter() {
            match limiter.acquire(&caller.id).await {
                Ok(None) => {}
                Ok(Some(wait)) => {
                    *decision = "denied: rate limited".into();
                    let secs = wait.as_secs_f64().max(0.1);
                    // Whole milliseconds, rounded up: retrying after that many is never too early.
                    let millis = wait.as_micros().div_ceil(1000);
                    return Err(ctx(Error::new(ErrorKind::Denied, format!("rate limit reached; retry in {secs:.1}s"))
                        .with_context(crate::limits::RETRY_AFTER_MS, millis)
                        .set_retryable(true)));
                }
                Err(e) => {
                    *decision = "denied: rate limit unavailable".into();
                    return Err(ctx(e));
                }
            }
        }
        match self.inner.policy.check(tool, &caller.id, args).await? {
            Decision::Allow => {}
            Decision::Deny(reasons) => {
                *decision = format!("denied: {}", reasons.join("; "));
                return Err(ctx(Error::new(
                    ErrorKind::Denied,
                    format!("policy refused the call: {}", reasons.join("; ")),
                )));
            }
        }
        let secrets = self.secret_values();
        self.approval_step(tool, caller, args, audit_arguments(arguments.clone(), &secrets), decision, observer)
            .await
            .map_err(ctx)?;
        let invoker = tool.instance().invoker().ok_or_else(|| {
            ctx(Error::unsupported(format!("call a `{}` tool: this type has no invoke", tool.spec().type_)))
        })?;
        let limits = tool.limits();
        let call = Invocation { arguments: args.clone(), limits };
        match tokio::time::timeout(limits.timeout, invoker.invoke(call)).await {
            Ok(result) => result.map_err(ctx),
            Err(_) => {
                Err(ctx(Error::new(ErrorKind::Timeout, format!("call did not finish within {:?}", limits.timeout))))
            }
        }
    }

    /// Runs one command through a session of the tool (`toolkit tool exec`), audited.
    pub async fn exec(&self, caller: &Caller, reference: &ToolRef, command: &[String]) -> Result<InvokeOutput> {
        let started = Instant::now();
        let time = chrono::Utc::now();
        let secrets = self.secret_values();
        if !caller.may_call(reference) {
            let refused = not_declared(reference);
            self.state()
                .append_audit(&AuditRecord {
                    id: 0,
                    time,
                    caller: caller.id.clone(),
                    tool: reference.clone(),
                    operation: "exec".into(),
                    arguments: Some(audit_arguments(Value::from(command.to_vec()), &secrets)),
                    decision: "denied: outside the caller's scope".into(),
                    duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                    outcome: Outcome::Error,
                    error_kind: Some(refused.kind().as_str().to_owned()),
                    error: Some(refused.to_string()),
                })
                .await?;
            return Err(refused);
        }
        let tool = self.tool(reference)?;
        let mut decision = "allowed".to_owned();
        let limits = tool.limits();
        let result = async {
            if tool.spec().read_only
                && let Some(dialect) = crate::sql_dialect(tool.spec().type_)
            {
                let verdict = toolkit_policy::check_read_only(dialect, &command.join(" "));
                if !verdict.read_only {
                    decision = format!("denied: {}", verdict.reasons.join("; "));
                    return Err(Error::new(
                        ErrorKind::Denied,
                        format!("policy refused the command: {}", verdict.reasons.join("; ")),
                    ));
                }
            }
            let session = tool.instance().open_session().await?;
            let out = tokio::time::timeout(limits.timeout, session.exec(command, &limits)).await;
            session.close().await;
            match out {
                Ok(r) => r,
                Err(_) => {
                    Err(Error::new(ErrorKind::Timeout, format!("command did not finish within {:?}", limits.timeout)))
                }
            }
        }
        .await
        .map_err(|e| e.with_context("tool", reference).map_text(|s| redact_text(s, &secrets)))
        .map(|mut out| {
            cap_output(&mut out, limits.max_output_bytes);
            redact_json(&mut out.content, &secrets);
            out
        });
        let err_text = result.as_ref().err().map(ToString::to_string);
        self.state()
            .record_call_audit(&AuditRecord {
                id: 0,
                time,
                caller: caller.id.clone(),
                tool: reference.clone(),
                operation: "exec".into(),
                arguments: Some(audit_arguments(Value::from(command.to_vec()), &secrets)),
                decision,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                outcome: if result.is_ok() { Outcome::Ok } else { Outcome::Error },
                error_kind: result.as_ref().err().map(|e| e.kind().as_str().to_owned()),
                error: err_text,
            })
            .await?;
        result
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

fn audit_arguments(mut args: Value, secrets: &[SecretString]) -> Value {
    redact_json(&mut args, secrets);
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
        let secrets = vec![SecretString::new("hunter22")];
        let v = audit_arguments(serde_json::json!({"q": "pw hunter22"}), &secrets);
        assert_eq!(v["q"], format!("pw {REDACTED}"));
    }
}
