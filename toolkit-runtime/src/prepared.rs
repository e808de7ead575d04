//! A tool prepared for calls: compiled schema, limiter, caps and its connector instance.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use toolkit_core::connector::{BuildContext, CallLimits, ToolLookup};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::{ConnectorRegistry, Error, Result, SecretResolver, Tool, ToolInstance, ToolRef, ToolSpec, TypeInfo};

use crate::limits::{RateLimiter, ToolLimiter};

/// Default time allowed for one call of a type whose connector is not known (imported tools).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default rows returned at most.
pub const DEFAULT_MAX_ROWS: usize = 1000;
/// Default output bytes at most.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// What preparing a tool draws on.
pub(crate) struct Parts<'a> {
    pub connectors: &'a ConnectorRegistry,
    pub secrets: Arc<dyn SecretResolver>,
    pub config_maps: Arc<ConfigMaps>,
    pub rate_limiter: &'a dyn RateLimiter,
    pub tools: Arc<dyn ToolLookup>,
}

/// A tool ready to be called: everything that can be computed once is computed here.
pub struct PreparedTool {
    reference: ToolRef,
    tool: Arc<Tool>,
    info: Option<TypeInfo>,
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
    pub(crate) fn prepare(reference: ToolRef, tool: Arc<Tool>, parts: &Parts<'_>) -> Result<Self> {
        let spec = &tool.spec;
        let connector = parts.connectors.get(&spec.type_)?;
        let info = connector.info();
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
            secrets: parts.secrets.clone(),
            config_maps: parts.config_maps.clone(),
            tools: parts.tools.clone(),
        };
        let instance = connector.build(ctx)?;
        Ok(Self {
            limiter: spec.rate_limit.as_ref().map(|rate| parts.rate_limiter.for_tool(&reference, rate)),
            limits: limits_of(spec, info.default_timeout),
            info: Some(info),
            reference,
            instance,
            input_schema,
            validator,
            tool,
        })
    }

    /// A tool whose instance exists already (a tool imported from a registry upstream): no
    /// connector builds it; its rate limit (the upstream's or the registry's) draws on
    /// `rate_limiter`. An input schema that does not compile is replaced by a permissive one, as
    /// the upstream validates the arguments anyway.
    pub(crate) fn with_instance(
        reference: ToolRef,
        tool: Arc<Tool>,
        instance: Arc<dyn ToolInstance>,
        info: Option<TypeInfo>,
        rate_limiter: &dyn RateLimiter,
    ) -> Result<Self> {
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
        let timeout = info.as_ref().map_or(DEFAULT_TIMEOUT, |i| i.default_timeout);
        Ok(Self {
            limiter: tool.spec.rate_limit.as_ref().map(|rate| rate_limiter.for_tool(&reference, rate)),
            limits: limits_of(&tool.spec, timeout),
            info,
            reference,
            instance,
            input_schema,
            validator,
            tool,
        })
    }

    /// The same tool served with what its server says of it (`listed`): its input schema, which
    /// then validates the arguments, and its output schema, title, description and annotations
    /// where the manifest declares none. Fails when the server's schema does not compile.
    pub(crate) fn described_by(&self, listed: &ToolSpec) -> Result<Self> {
        let mut spec = self.tool.spec.clone();
        if spec.input_schema.is_none() {
            spec.input_schema = listed.input_schema.clone();
        }
        spec.output_schema = spec.output_schema.or_else(|| listed.output_schema.clone());
        spec.display_name = spec.display_name.or_else(|| listed.display_name.clone());
        spec.description = spec.description.or_else(|| listed.description.clone());
        spec.annotations = spec.annotations.or_else(|| listed.annotations.clone());
        let input_schema = spec.input_schema.clone().unwrap_or_else(|| self.input_schema.clone());
        let validator = jsonschema::validator_for(&input_schema)
            .map_err(|e| Error::config(format!("compile the server's input schema: {e}")))?;
        let mut tool = (*self.tool).clone();
        tool.spec = spec;
        Ok(Self {
            reference: self.reference.clone(),
            tool: Arc::new(tool),
            info: self.info.clone(),
            instance: self.instance.clone(),
            input_schema,
            validator,
            limiter: self.limiter.clone(),
            limits: self.limits,
        })
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

    /// What its type's connector declares, when the connector is in this build.
    pub fn type_info(&self) -> Option<&TypeInfo> {
        self.info.as_ref()
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

fn limits_of(spec: &ToolSpec, default_timeout: Duration) -> CallLimits {
    let l = spec.limits.clone().unwrap_or_default();
    CallLimits {
        max_rows: l.max_rows.map_or(DEFAULT_MAX_ROWS, |n| n as usize),
        max_output_bytes: l
            .max_output_bytes
            .map_or(DEFAULT_MAX_OUTPUT_BYTES, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        timeout: spec.timeout.map_or(default_timeout, |d| d.get()),
    }
}
