#![doc = include_str!("../README.md")]

mod client;
mod config;
mod index;
mod invoke;
mod permissions;
mod probe;
mod session;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, PermissionProvisioner, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{Auth, DEFAULT_CONNECT_TIMEOUT, ElasticSettings, EsConfig};
pub use index::IndexPatterns;
pub use invoke::Operation;
pub use permissions::{Distribution, IndexRule, RolePlan};

use client::Client;
use session::EsSession;

/// The `spec.type` this crate serves.
pub const TYPE: &str = "elasticsearch";

/// Adds the elasticsearch connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(EsConnector);
}

/// The `elasticsearch` type (Elasticsearch and OpenSearch).
#[derive(Debug, Clone, Copy, Default)]
pub struct EsConnector;

impl Connector for EsConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "Elasticsearch or OpenSearch").with(SpecPart::config::<config::ElasticSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            probe: true,
            session: true,
            invoke: true,
            permissions_plan: true,
            permissions_apply: false,
            // The REST API has no read-only mode: `readOnly` is kept by toolkit's operation
            // allow-list, and at the engine only by a user whose role grants `read`.
            read_only: false,
        }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        let (mut errs, user) = match EsConfig::from_spec(spec) {
            Ok(cfg) => (Vec::new(), cfg.username().map(str::to_owned)),
            Err(errs) => (errs, None),
        };
        if let Some(p) = &spec.permissions
            && let Err(more) = RolePlan::from_spec(p, user.as_deref(), "tool")
        {
            errs.extend(more);
        }
        errs
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        toolkit_core::config::secret_fields(spec.config.as_ref(), "spec.config", &["credentialsRef"])
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &std::path::Path) {
        toolkit_core::config::resolve_config_paths(spec, &["caFile"], dir);
    }

    fn default_input_schema(&self) -> Option<Value> {
        let operations: Vec<&str> = Operation::ALL.iter().map(|(n, _)| *n).collect();
        Some(json!({
            "type": "object",
            "properties": {
                "operation": {
                    "type": "string",
                    "enum": operations,
                    "description": "search, get or count; index and delete only on tools that are not read-only"
                },
                "index": {"type": "string", "minLength": 1, "description": "Index, pattern or comma-separated list; the tool's index when omitted (get, index and delete take one index)"},
                "query": {"type": "object", "description": "Query DSL, e.g. {\"match\": {\"message\": \"error\"}} (search, count)"},
                "body": {"type": "object", "description": "A whole search request body (aggs, _source, highlight...); `query`, `sort`, `size` and `from` override its fields (search)"},
                "size": {"type": "integer", "minimum": 0, "description": "Hits to return (search); the tool's row cap applies too"},
                "from": {"type": "integer", "minimum": 0, "description": "Hits to skip (search)"},
                "sort": {"description": "Sort, e.g. [{\"@timestamp\": \"desc\"}] (search)", "type": ["array", "object", "string"]},
                "id": {"type": "string", "minLength": 1, "description": "Document id (get, delete; index, where a new id is made when omitted)"},
                "document": {"type": "object", "description": "The document to store (index)"},
                "refresh": {"type": "boolean", "description": "Wait until the change is searchable (index, delete)"}
            },
            "required": ["operation"],
            "additionalProperties": false
        }))
    }

    fn session_template(&self, spec: &ToolSpec) -> Option<toolkit_core::SessionTemplate> {
        EsConfig::from_spec(spec).ok().map(|c| session::template(&c))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let config = EsConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build elasticsearch tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(EsTool {
            client: Arc::new(Client::new(config, ctx.namespace.clone(), ctx.secrets.clone())),
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            name: ctx.name.clone(),
        }))
    }
}

/// One elasticsearch tool: its lazily made client and what it may do. Cheap to clone.
#[derive(Clone)]
pub(crate) struct EsTool {
    client: Arc<Client>,
    read_only: bool,
    permissions: Option<PermissionsSpec>,
    name: String,
}

impl fmt::Debug for EsTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsTool").field("client", &self.client).field("read_only", &self.read_only).finish()
    }
}

#[async_trait]
impl ToolInstance for EsTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn permissions(&self) -> Option<&dyn PermissionProvisioner> {
        self.permissions.is_some().then_some(self as &dyn PermissionProvisioner)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        let secret = self.client.credential().await?;
        Ok(Box::new(EsSession { tool: self.clone(), secret }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn the_example_manifest_validates() {
        let mut registry = toolkit_core::ConnectorRegistry::new();
        super::register(&mut registry);
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/elasticsearch.yaml");
        let catalog = toolkit_core::Catalog::load(&[root], &registry).unwrap();
        let problems: Vec<String> = catalog.all_diagnostics().iter().map(|d| format!("{d:?}")).collect();
        assert!(!catalog.has_errors(), "{problems:#?}");
        assert!(catalog.tools.len() >= 2, "{problems:#?}");
    }

    #[test]
    fn an_invalid_spec_has_no_pod_session() {
        use toolkit_core::Connector;
        let spec = |c| toolkit_core::ToolSpec { type_: "elasticsearch".into(), config: c, ..Default::default() };
        assert!(super::EsConnector.session_template(&spec(None)).is_none());
        let with_password = serde_json::json!({"url": "http://u:pw@es:9200"});
        assert!(super::EsConnector.session_template(&spec(Some(with_password))).is_none());
        let ok = serde_json::json!({"url": "http://es:9200"});
        assert!(super::EsConnector.session_template(&spec(Some(ok))).is_some());
    }
}
