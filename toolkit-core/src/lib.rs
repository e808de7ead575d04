//! The heart of toolkit: the `Tool` and `ToolRegistry` resources, their pure validation,
//! manifest loading (native and peer formats), the error and secret types, and the four traits
//! every connector implements.
//!
//! Nothing in this crate performs network I/O: connectors (`toolkit-connectors`) and the runtime
//! (`toolkit-runtime`) do that.

pub mod compat;
pub mod connector;
pub mod duration;
pub mod error;
pub mod kubeconfig;
pub mod manifest;
pub mod model;
pub mod secret;
pub mod template;
pub mod validate;

pub use connector::{
    Capabilities, Connector, ConnectorRegistry, Invocation, InvokeOutput, Invoker, PermissionPlan,
    PermissionProvisioner, Probe, ProbeReport, Session, ToolInstance,
};
pub use error::{Error, ErrorKind, Result};
pub use manifest::{Catalog, LoadedTool, ToolRef};
pub use model::{Tool, ToolRegistry, ToolSpec, ToolStatus, ToolType};
pub use secret::{SecretResolver, SecretString};
