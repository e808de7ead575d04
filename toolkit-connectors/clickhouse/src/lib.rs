#![doc = include_str!("../README.md")]

use toolkit_core::ConnectorRegistry;

/// Adds the clickhouse connector to `registry`.
pub fn register(_registry: &mut ConnectorRegistry) {}
