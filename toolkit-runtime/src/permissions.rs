//! Engine-native permissions of a tool: the plan next to what is granted now, and applying it
//! where the manifest says `spec.permissions.mode: enforce`. Applying is audited with the
//! operation `permissions`.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use toolkit_core::connector::PermissionPlan;
use toolkit_core::model::PermissionMode;
use toolkit_core::secret::{redact_json, redact_text};
use toolkit_core::{Error, Result, ToolRef};
use toolkit_state::{AuditRecord, Decision, Outcome, Refusal};

use crate::{Caller, Runtime};

/// What `permissions` reports about one tool.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionsReport {
    /// The tool.
    pub tool: ToolRef,
    /// `declare` or `enforce`.
    pub mode: PermissionMode,
    /// The plan, with what is granted now.
    pub plan: PermissionPlan,
    /// Whether the plan was applied by this call.
    pub applied: bool,
}

impl Runtime {
    /// Plans the tool's declared permissions and reads what is granted now; with `apply`, runs
    /// the plan (only in `enforce` mode) and reads the grants again.
    pub async fn permissions(&self, caller: &Caller, reference: &ToolRef, apply: bool) -> Result<PermissionsReport> {
        let tool = self.tool(reference)?;
        let ctx = |e: Error| e.with_context("tool", reference);
        let Some(spec) = tool.spec().permissions.as_ref() else {
            return Err(ctx(Error::config("plan permissions: the tool declares no spec.permissions")));
        };
        let provisioner = tool.instance().permissions().ok_or_else(|| {
            ctx(Error::unsupported(format!("plan permissions: `{}` tools have no engine grants", tool.spec().type_)))
        })?;
        let secrets = self.secret_values();
        let plan = provisioner.plan().await.map_err(|e| ctx(e).map_text(|s| redact_text(s, &secrets)))?;
        if !apply {
            return Ok(PermissionsReport { tool: reference.clone(), mode: spec.mode, plan, applied: false });
        }
        let started = Instant::now();
        let time = chrono::Utc::now();
        let result = if spec.mode == PermissionMode::Enforce {
            match provisioner.apply(&plan).await {
                Ok(()) => provisioner.plan().await,
                Err(e) => Err(e),
            }
            .map_err(|e| ctx(e).map_text(|s| redact_text(s, &secrets)))
        } else {
            Err(ctx(Error::config(
                "apply permissions: spec.permissions.mode is `declare`; set it to `enforce` to apply the plan",
            )))
        };
        let mut arguments = json!({"principal": plan.principal, "statements": plan.statements});
        redact_json(&mut arguments, &secrets);
        self.state()
            .append_audit(&AuditRecord {
                id: 0,
                time,
                caller: caller.id.clone(),
                tool: reference.clone(),
                operation: "permissions".into(),
                arguments: Some(arguments),
                decision: match (&result, spec.mode) {
                    (_, PermissionMode::Declare) => Decision::denied(Refusal::DeclareMode),
                    (Ok(_), PermissionMode::Enforce) => Decision::Applied,
                    (Err(_), PermissionMode::Enforce) => Decision::Allowed,
                },
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                outcome: if result.is_ok() { Outcome::Ok } else { Outcome::Error },
                error_kind: result.as_ref().err().map(|e| e.kind().as_str().to_owned()),
                error: result.as_ref().err().map(ToString::to_string),
            })
            .await?;
        result.map(|plan| PermissionsReport { tool: reference.clone(), mode: spec.mode, plan, applied: true })
    }
}
