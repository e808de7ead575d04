//! The `toolkit.dev/v1alpha1` resources: [`Tool`] and [`ToolRegistry`].
//!
//! Both are Kubernetes custom resources (namespaced, with a status subresource) and are read the
//! same way from local manifest folders. Every struct rejects unknown fields so that a typo in a
//! manifest is an error naming the field instead of a silently ignored setting.

pub mod mcp_name;
mod policy;
mod registry;
mod spec;
mod status;
mod values;

pub use policy::{ApprovalPolicy, ApprovalPolicySpec, ApprovalPolicyStatus};
pub use registry::{
    MemberSource, RegistryMember, RegistryTool, RegistryUpstream, ToolRegistry, ToolRegistryDiscovery,
    ToolRegistrySpec, ToolRegistryStatus,
};
pub use spec::*;
pub use status::{Condition, LastProbe, PermissionsStatus, RegistryPhase, ToolPhase, ToolStatus};
pub use values::*;

/// The API group of the resources.
pub const GROUP: &str = "toolkit.dev";
/// The API version of the resources.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` as written in manifests.
pub const API_VERSION: &str = "toolkit.dev/v1alpha1";
/// The namespace of resources whose manifest names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A schema for free-form JSON kept as-is by the API server.
pub(crate) fn preserve_unknown(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// A field written either as a boolean or as an object.
pub(crate) fn bool_or_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "`true`, `false`, or an object of settings",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Same as [`preserve_unknown`] for a list of free-form objects.
pub(crate) fn preserve_unknown_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}
