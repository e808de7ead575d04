//! The connectors facade: one optional crate per integration type, each behind a cargo feature
//! of the same name, and the builtin tools that need no driver.
//!
//! ```
//! let registry = toolkit_connectors::registry();
//! assert!(registry.contains(toolkit_core::ToolType::Builtin));
//! ```

mod builtin;

use toolkit_core::ConnectorRegistry;

#[cfg(any(feature = "kubectl", feature = "bash"))]
pub use toolkit_connector_command as command;
#[cfg(feature = "http")]
pub use toolkit_connector_http as http;
#[cfg(any(feature = "mcp", feature = "agent"))]
pub use toolkit_connector_mcp as mcp;
#[cfg(feature = "mysql")]
pub use toolkit_connector_mysql as mysql;
#[cfg(any(feature = "postgres", feature = "cockroachdb", feature = "redshift"))]
pub use toolkit_connector_postgres as postgres;
#[cfg(feature = "redis")]
pub use toolkit_connector_redis as redis;
#[cfg(feature = "sqlite")]
pub use toolkit_connector_sqlite as sqlite;

pub use builtin::BuiltinConnector;

/// A registry with every connector compiled into this build.
pub fn registry() -> ConnectorRegistry {
    let mut registry = ConnectorRegistry::new();
    registry.register(BuiltinConnector);
    #[cfg(feature = "postgres")]
    toolkit_connector_postgres::register(&mut registry);
    #[cfg(feature = "mysql")]
    toolkit_connector_mysql::register(&mut registry);
    #[cfg(feature = "cockroachdb")]
    toolkit_connector_postgres::register_cockroachdb(&mut registry);
    #[cfg(feature = "redshift")]
    toolkit_connector_postgres::register_redshift(&mut registry);
    #[cfg(feature = "redis")]
    toolkit_connector_redis::register(&mut registry);
    #[cfg(feature = "http")]
    toolkit_connector_http::register(&mut registry);
    #[cfg(feature = "sqlite")]
    toolkit_connector_sqlite::register(&mut registry);
    #[cfg(feature = "mcp")]
    toolkit_connector_mcp::register(&mut registry);
    #[cfg(feature = "agent")]
    toolkit_connector_mcp::register_agent(&mut registry);
    #[cfg(feature = "kubectl")]
    toolkit_connector_command::register_kubectl(&mut registry);
    #[cfg(feature = "bash")]
    toolkit_connector_command::register_bash(&mut registry);
    registry
}
