//! The connectors facade: one optional crate per integration type, each behind a cargo feature
//! of the same name, and the builtin tools that need no driver.
//!
//! ```
//! let registry = toolkit_connectors::registry();
//! assert!(registry.contains("builtin"));
//! let err = registry.get("my-queue").err().expect("my-queue is not a built-in type");
//! assert!(err.to_string().contains("not in this build; compiled in: "));
//! ```

mod builtin;

use toolkit_core::ConnectorRegistry;

#[cfg(feature = "bigquery")]
pub use toolkit_connector_bigquery as bigquery;
#[cfg(feature = "clickhouse")]
pub use toolkit_connector_clickhouse as clickhouse;
#[cfg(any(feature = "kubectl", feature = "bash"))]
pub use toolkit_connector_command as command;
#[cfg(feature = "custom")]
pub use toolkit_connector_custom as custom;
#[cfg(feature = "elasticsearch")]
pub use toolkit_connector_elasticsearch as elasticsearch;
#[cfg(feature = "http")]
pub use toolkit_connector_http as http;
#[cfg(feature = "kafka")]
pub use toolkit_connector_kafka as kafka;
#[cfg(feature = "kubernetes")]
pub use toolkit_connector_kubernetes as kubernetes;
#[cfg(any(feature = "mcp", feature = "agent"))]
pub use toolkit_connector_mcp as mcp;
#[cfg(feature = "mongodb")]
pub use toolkit_connector_mongodb as mongodb;
#[cfg(feature = "mysql")]
pub use toolkit_connector_mysql as mysql;
#[cfg(feature = "oracle")]
pub use toolkit_connector_oracle as oracle;
#[cfg(any(feature = "postgres", feature = "cockroachdb", feature = "redshift"))]
pub use toolkit_connector_postgres as postgres;
#[cfg(feature = "rabbitmq")]
pub use toolkit_connector_rabbitmq as rabbitmq;
#[cfg(feature = "redis")]
pub use toolkit_connector_redis as redis;
#[cfg(feature = "snowflake")]
pub use toolkit_connector_snowflake as snowflake;
#[cfg(feature = "sqlite")]
pub use toolkit_connector_sqlite as sqlite;
#[cfg(feature = "sqlserver")]
pub use toolkit_connector_sqlserver as sqlserver;
#[cfg(feature = "ssh")]
pub use toolkit_connector_ssh as ssh;

pub use builtin::{BUILTINS, BuiltinConnector, BuiltinSpec};

/// A registry with every connector compiled into this build, and the peer manifest formats.
pub fn registry() -> ConnectorRegistry {
    let mut registry = ConnectorRegistry::new();
    toolkit_compat::register(&mut registry);
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
    #[cfg(feature = "sqlserver")]
    toolkit_connector_sqlserver::register(&mut registry);
    #[cfg(feature = "mongodb")]
    toolkit_connector_mongodb::register(&mut registry);
    #[cfg(feature = "clickhouse")]
    toolkit_connector_clickhouse::register(&mut registry);
    #[cfg(feature = "kubernetes")]
    toolkit_connector_kubernetes::register(&mut registry);
    #[cfg(feature = "snowflake")]
    toolkit_connector_snowflake::register(&mut registry);
    #[cfg(feature = "bigquery")]
    toolkit_connector_bigquery::register(&mut registry);
    #[cfg(feature = "elasticsearch")]
    toolkit_connector_elasticsearch::register(&mut registry);
    #[cfg(feature = "kafka")]
    toolkit_connector_kafka::register(&mut registry);
    #[cfg(feature = "oracle")]
    toolkit_connector_oracle::register(&mut registry);
    #[cfg(feature = "rabbitmq")]
    toolkit_connector_rabbitmq::register(&mut registry);
    #[cfg(feature = "ssh")]
    toolkit_connector_ssh::register(&mut registry);
    #[cfg(feature = "custom")]
    toolkit_connector_custom::register(&mut registry);
    registry
}
