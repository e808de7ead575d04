//! The heart of toolkit: the `Tool`, `ToolRegistry` and `ApprovalPolicy` resources, their
//! pure validation, manifest loading, the error and secret types, the verdicts classifiers
//! give, and the traits every connector implements.
//!
//! The core names no integration type: each connector owns its type's name, its settings
//! (`spec.config` and its other blocks), their validation and their references to Secrets, and
//! registers itself in a [`ConnectorRegistry`]. Nothing in this crate performs network I/O.

pub mod config;
pub mod connector;
pub mod duration;
pub mod error;
pub mod manifest;
pub mod model;
pub mod secret;
pub mod token;
pub mod trace;
pub mod upstream;
pub mod validate;
pub mod verdict;

pub use connector::{
    BuildContext, Capabilities, Connector, ConnectorRegistry, EnvSource, EnvTemplate, ExecForm, Invocation,
    InvokeOutput, Invoker, PermissionPlan, PermissionProvisioner, Probe, ProbeReport, Request, Session,
    SessionTemplate, SpecPart, ToolInstance, ToolLookup, ToolReference, TypeInfo,
};
pub use error::{Error, ErrorKind, Result};
pub use manifest::{Catalog, LoadedTool, ToolRef};
pub use model::{Reference, Tool, ToolRegistry, ToolSpec, ToolStatus};
pub use secret::{SecretResolver, SecretString};
pub use verdict::{Class, Reason, Verdict};
