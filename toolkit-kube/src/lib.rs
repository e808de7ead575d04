//! Kubernetes as a toolkit source.
//!
//! - [`ClusterSource`] reads a [`Catalog`](toolkit_core::Catalog) from the API server (Tools,
//!   ToolRegistries, ApprovalPolicies and the ConfigMaps they name) and says when it changed;
//!   `toolkit --kubernetes` and `toolkit-gateway --kubernetes` run on it.
//! - [`KubeSecrets`] reads a Secret a tool names when a call needs it, from the tool's own
//!   namespace only.
//! - [`resolve_references`] turns what a Tool names in the cluster (an ark `MCPServer`, an
//!   agent's Service) into the fields its connector reads; the operator and the catalog share
//!   it.
//! - [`CounterReporter`] adds the calls a gateway counted to each Tool's status, in batches.

mod catalog;
mod counters;
mod references;
mod secrets;

pub use catalog::{Changes, ClusterSource, connect, object_source, policy_resource, registry_resource, tool_resource};
pub use counters::{CallCounts, CounterReporter, DEFAULT_REPORT_INTERVAL};
pub use references::{
    AGENT_LABEL, AGENT_PATH_ANNOTATION, has_cluster_references, mcp_server_resource, resolve_references, service_port,
    service_url, service_url_with,
};
pub use secrets::{KubeSecrets, Unresolved, resolve_all};
