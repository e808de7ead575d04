//! The native blocks peer tools convert into, written in the shape the connectors read
//! (`spec.http`, `spec.mcp`...). Only what a conversion sets is here; the documents written go
//! through the connectors' own checks like hand-written ones.

use serde::Serialize;
use toolkit_core::model::{EnvVar, ObjectRef, ValueFrom, ValueSource};

/// `spec.http` of an `http` tool.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Http {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub body_parameters: Vec<Parameter>,
}

/// One request header.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Header {
    pub name: String,
    pub value: ValueSource,
}

/// A named value of a body template.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Parameter {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

/// `spec.mcp` of an `mcp` tool.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Mcp {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_ref: Option<ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<toolkit_core::model::McpTransport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    pub tool_name: String,
}

/// `spec.agent` and `spec.builtin`: a name.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Named {
    pub name: String,
}

/// `spec.command` of a `bash` tool.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Command {
    pub script: String,
}
