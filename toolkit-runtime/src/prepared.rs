//! A tool prepared for calls: compiled schema, limiter, caps and its connector instance.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use toolkit_core::connector::{BuildContext, CallLimits};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::{Catalog, ConnectorRegistry, Error, Result, Tool, ToolInstance, ToolRef, ToolSpec, ToolType};

use crate::limits::{RateLimiter, ToolLimiter};

/// Default time allowed for one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time allowed for one call of a command tool (bash, kubectl).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Default rows returned at most.
pub const DEFAULT_MAX_ROWS: usize = 1000;
/// Default output bytes at most.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// A tool ready to be called: everything that can be computed once is computed here.
pub struct PreparedTool {
    reference: ToolRef,
    tool: Arc<Tool>,
    instance: Arc<dyn ToolInstance>,
    input_schema: Value,
    validator: jsonschema::Validator,
    limiter: Option<Arc<dyn ToolLimiter>>,
    limits: CallLimits,
}

impl std::fmt::Debug for PreparedTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedTool").field("tool", &self.reference.to_string()).finish_non_exhaustive()
    }
}

impl PreparedTool {
    pub(crate) fn prepare(
        reference: ToolRef,
        tool: Arc<Tool>,
        connectors: &ConnectorRegistry,
        secrets: Arc<SecretStore>,
        config_maps: Arc<ConfigMaps>,
        rate_limiter: &dyn RateLimiter,
        catalog: &Catalog,
    ) -> Result<Self> {
        let spec = &tool.spec;
        let connector = connectors.get(spec.type_)?;
        let input_schema = spec
            .input_schema
            .clone()
            .or_else(|| connector.default_input_schema())
            .unwrap_or_else(|| serde_json::json!({"type": "object"}));
        let validator = jsonschema::validator_for(&input_schema)
            .map_err(|e| Error::config(format!("compile spec.inputSchema: {e}")).with_context("tool", &reference))?;
        let ctx = BuildContext {
            tool: tool.clone(),
            namespace: reference.namespace.clone(),
            name: reference.name.clone(),
            secrets,
            config_maps,
        };
        let instance = match spec.type_ {
            // A kubectl tool's credentials come from the kubernetes tool it names, which only the
            // catalog can look up.
            #[cfg(feature = "kubectl")]
            ToolType::Kubectl => {
                let connection = kube_connection(catalog, &reference, spec)?;
                let tool = toolkit_connectors::command::CommandTool::new(ToolType::Kubectl, &ctx, Some(connection));
                Arc::new(tool) as Arc<dyn ToolInstance>
            }
            _ => connector.build(ctx)?,
        };
        let _ = catalog;
        Ok(Self {
            limiter: spec.rate_limit.as_ref().map(|rate| rate_limiter.for_tool(&reference, rate)),
            limits: limits_of(spec),
            reference,
            instance,
            input_schema,
            validator,
            tool,
        })
    }

    /// A tool whose instance exists already (a tool imported from a registry upstream): no
    /// connector builds it and it has no rate limit. An input schema that does not compile is
    /// replaced by a permissive one, as the upstream validates the arguments anyway.
    #[cfg(feature = "mcp")]
    pub(crate) fn with_instance(reference: ToolRef, tool: Arc<Tool>, instance: Arc<dyn ToolInstance>) -> Result<Self> {
        let permissive = serde_json::json!({"type": "object"});
        let declared = tool.spec.input_schema.clone().unwrap_or_else(|| permissive.clone());
        let (input_schema, validator) = match jsonschema::validator_for(&declared) {
            Ok(v) => (declared, v),
            Err(e) => {
                tracing::warn!(tool = %reference, "input schema replaced by a permissive one: {e}");
                let v = jsonschema::validator_for(&permissive)
                    .map_err(|e| Error::internal(format!("compile a permissive schema: {e}")))?;
                (permissive, v)
            }
        };
        Ok(Self { limiter: None, limits: limits_of(&tool.spec), reference, instance, input_schema, validator, tool })
    }

    /// Namespace and name.
    pub fn reference(&self) -> &ToolRef {
        &self.reference
    }

    /// The tool as declared.
    pub fn tool(&self) -> &Arc<Tool> {
        &self.tool
    }

    /// Its spec.
    pub fn spec(&self) -> &ToolSpec {
        &self.tool.spec
    }

    /// The arguments schema agents see (declared, or the connector's default).
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }

    /// The connector instance.
    pub fn instance(&self) -> &Arc<dyn ToolInstance> {
        &self.instance
    }

    /// Caps of one call.
    pub fn limits(&self) -> CallLimits {
        self.limits
    }

    pub(crate) fn validator(&self) -> &jsonschema::Validator {
        &self.validator
    }

    pub(crate) fn limiter(&self) -> Option<&Arc<dyn ToolLimiter>> {
        self.limiter.as_ref()
    }
}

/// The kubernetes connection named by a kubectl tool's `spec.command.connectionRef`.
#[cfg(feature = "kubectl")]
fn kube_connection(
    catalog: &Catalog,
    reference: &ToolRef,
    spec: &ToolSpec,
) -> Result<(toolkit_core::model::ConnectionConfig, String)> {
    let fail = |msg: String| Error::config(msg).with_context("tool", reference);
    let Some(r) = spec.command.as_ref().and_then(|c| c.connection_ref.as_ref()) else {
        return Err(fail("build kubectl tool: spec.command.connectionRef is required".into()));
    };
    let target = ToolRef::new(r.namespace.as_deref().unwrap_or(&reference.namespace), &r.name);
    let kube = catalog
        .tools
        .get(&target)
        .and_then(|l| l.tool.as_deref())
        .filter(|t| t.spec.type_ == ToolType::Kubernetes)
        .ok_or_else(|| fail(format!("build kubectl tool: spec.command.connectionRef: no kubernetes tool {target}")))?;
    Ok((kube.spec.config.clone().unwrap_or_default(), target.namespace))
}

fn limits_of(spec: &ToolSpec) -> CallLimits {
    let l = spec.limits.clone().unwrap_or_default();
    CallLimits {
        max_rows: l.max_rows.map_or(DEFAULT_MAX_ROWS, |n| n as usize),
        max_output_bytes: l
            .max_output_bytes
            .map_or(DEFAULT_MAX_OUTPUT_BYTES, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        timeout: spec.timeout.map_or(
            if matches!(spec.type_, ToolType::Bash | ToolType::Kubectl) { COMMAND_TIMEOUT } else { DEFAULT_TIMEOUT },
            |d| d.get(),
        ),
    }
}
