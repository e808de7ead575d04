//! The kubernetes connection a kubectl call runs with; its kubeconfig (API server, CA
//! certificate, bearer token) is rendered by `toolkit_core::kubeconfig`. The caller's own
//! kubeconfig is never read.

use toolkit_core::model::ConnectionConfig;

/// A kubernetes connection: the `config` of a tool of type kubernetes, and its namespace (for
/// its secrets).
#[derive(Clone, Debug)]
pub struct KubeConnection {
    /// `apiserver`, `token`, `cacrt`, `namespace`.
    pub config: ConnectionConfig,
    /// The namespace of the kubernetes tool.
    pub namespace: String,
}
