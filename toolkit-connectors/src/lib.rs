//! The connectors facade: one optional crate per integration type, each behind a cargo feature
//! of the same name, and the builtin tools that need no driver. Each connector is one line of
//! [`registry`]; a program with connectors of its own adds them to the registry it returns.
//!
//! ```
//! let registry = toolkit_connectors::registry();
//! assert!(registry.contains("builtin"));
//! let err = registry.get("my-queue").err().expect("my-queue is not a built-in type");
//! assert!(err.to_string().contains("not in this build; compiled in: "));
//! ```

mod builtin;

use toolkit_core::ConnectorRegistry;

pub use builtin::{BUILTINS, BuiltinConnector, BuiltinSpec};

/// Defines [`registry`]: one line per connector, `"feature" => its register function`.
macro_rules! connectors {
    ($($feature:literal => $register:path),* $(,)?) => {
        /// A registry with the builtins, every connector compiled into this build, and the
        /// peer manifest formats.
        pub fn registry() -> ConnectorRegistry {
            let mut registry = ConnectorRegistry::new();
            toolkit_compat::register(&mut registry);
            registry.register(BuiltinConnector);
            $(
                #[cfg(feature = $feature)]
                $register(&mut registry);
            )*
            registry
        }
    };
}

connectors! {
    "postgres" => toolkit_connector_postgres::register,
    "cockroachdb" => toolkit_connector_postgres::register_cockroachdb,
    "redshift" => toolkit_connector_postgres::register_redshift,
    "mysql" => toolkit_connector_mysql::register,
    "sqlite" => toolkit_connector_sqlite::register,
    "sqlserver" => toolkit_connector_sqlserver::register,
    "oracle" => toolkit_connector_oracle::register,
    "clickhouse" => toolkit_connector_clickhouse::register,
    "snowflake" => toolkit_connector_snowflake::register,
    "bigquery" => toolkit_connector_bigquery::register,
    "mongodb" => toolkit_connector_mongodb::register,
    "redis" => toolkit_connector_redis::register,
    "elasticsearch" => toolkit_connector_elasticsearch::register,
    "kafka" => toolkit_connector_kafka::register,
    "rabbitmq" => toolkit_connector_rabbitmq::register,
    "kubernetes" => toolkit_connector_kubernetes::register,
    "ssh" => toolkit_connector_ssh::register,
    "http" => toolkit_connector_http::register,
    "mcp" => toolkit_connector_mcp::register,
    "agent" => toolkit_connector_mcp::register_agent,
    "kubectl" => toolkit_connector_command::register_kubectl,
    "bash" => toolkit_connector_command::register_bash,
    "custom" => toolkit_connector_custom::register,
}
