//! Following the upstream MCP servers of `ToolRegistry` resources: the [`UpstreamImporter`] a
//! build registers (the `mcp` connector's) checks an upstream's connection settings and follows
//! the server, handing out its tools as if they were declared.

use std::sync::Arc;

use async_trait::async_trait;

use crate::connector::ToolInstance;
use crate::error::Result;
use crate::manifest::ConfigMaps;
use crate::model::{Reference, RegistryUpstream, Tool};
use crate::secret::SecretResolver;
use crate::validate::FieldError;

/// Checks and follows registry upstreams.
pub trait UpstreamImporter: Send + Sync {
    /// Pure checks of `upstream`'s connection settings, under `path` (`spec.upstreams[0]`).
    fn validate(&self, upstream: &RegistryUpstream, path: &str) -> Vec<FieldError>;

    /// The Secrets and ConfigMaps `upstream` references, under `path`.
    fn references(&self, upstream: &RegistryUpstream, path: &str) -> Vec<Reference>;

    /// Starts following `upstream` of a registry (needs a tokio runtime): connect, list its
    /// tools, and again whenever the server says its list changed; `changed` is called each
    /// time what [`FollowedUpstream::current`] returns may have changed.
    fn follow(
        &self,
        upstream: FollowContext,
        changed: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Box<dyn FollowedUpstream>>;
}

/// What following one upstream needs.
#[derive(Clone)]
pub struct FollowContext {
    /// The registry's namespace: the imported tools' and the one their Secrets are read in.
    pub namespace: String,
    /// The upstream.
    pub upstream: RegistryUpstream,
    /// Resolves the Secrets of its credentials.
    pub secrets: Arc<dyn SecretResolver>,
    /// ConfigMaps for its environment.
    pub config_maps: Arc<ConfigMaps>,
}

/// One upstream being followed; dropping it stops following.
#[async_trait]
pub trait FollowedUpstream: Send + Sync {
    /// What the upstream contributes now.
    fn current(&self) -> Imported;

    /// Stops following and closes the connection.
    async fn shutdown(&self);
}

/// What an upstream contributes.
#[derive(Clone, Default)]
pub struct Imported {
    /// Whether the first attempt (success or failure) is over.
    pub settled: bool,
    /// The imported tools, sorted by name.
    pub tools: Vec<ImportedTool>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}

impl std::fmt::Debug for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imported")
            .field("settled", &self.settled)
            .field("tools", &self.tools.iter().map(|t| &t.name).collect::<Vec<_>>())
            .field("error", &self.error)
            .finish()
    }
}

/// One imported tool.
#[derive(Clone)]
pub struct ImportedTool {
    /// Its name in toolkit: the prefix and the upstream name.
    pub name: String,
    /// Its name on the upstream.
    pub upstream_name: String,
    /// The tool, as if declared: the upstream's description, schemas and annotations.
    pub tool: Arc<Tool>,
    /// Calls it on the upstream's shared connection.
    pub instance: Arc<dyn ToolInstance>,
}
