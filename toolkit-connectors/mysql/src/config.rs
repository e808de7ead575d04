//! The typed connection settings of a mysql tool, and their pure validation (shared with the
//! other SQL server engines in `toolkit-connector-sql`).

use toolkit_connector_sql::ServerDefaults;
use toolkit_core::ToolSpec;
use toolkit_core::model::SslMode;
use toolkit_core::validate::FieldError;

use crate::permissions;

pub use toolkit_connector_sql::Username;

/// Validated connection settings. Holds references to secrets, never their values.
pub type MysqlConfig = toolkit_connector_sql::ServerConfig;

/// The port used when `port` is not set.
pub const DEFAULT_PORT: u16 = 3306;

/// What mysql fills in when the manifest leaves it out.
const DEFAULTS: ServerDefaults = ServerDefaults { engine: "mysql", port: DEFAULT_PORT, ssl_mode: SslMode::Prefer };

/// Validates `spec` and returns the typed settings, or every problem found.
pub fn from_spec(spec: &ToolSpec) -> Result<MysqlConfig, Vec<FieldError>> {
    MysqlConfig::from_spec(spec, DEFAULTS, permissions::validate_rules)
}

/// Checks the mysql-specific parts of a spec: `spec.config` and `spec.permissions.rules`.
pub fn validate(spec: &ToolSpec) -> Vec<FieldError> {
    toolkit_connector_sql::config::validate(spec, DEFAULTS.engine, permissions::validate_rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "mysql".into(), config: Some(config), ..ToolSpec::default() }
    }

    fn paths(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let s = spec(serde_json::json!({"hostname": "db", "username": "app", "databaseName": "shop"}));
        let c = from_spec(&s).expect("valid");
        assert_eq!(c.port, 3306);
        assert_eq!(c.ssl_mode, SslMode::Prefer);
        assert_eq!(c.max_connections, 5);
        assert_eq!(c.address(), "db:3306");
    }

    #[test]
    fn refuses_keys_of_other_types_and_names_missing_fields() {
        let errs = validate(&spec(serde_json::json!({
            "hostname": "db", "username": "app", "databaseName": "shop", "uri": "mysql://x",
        })));
        assert_eq!(paths(&errs), ["spec.config.uri"]);
        assert!(errs[0].message.contains("not used by mysql tools"), "{}", errs[0].message);
        let errs = validate(&spec(serde_json::json!({"port": 0, "maxConnections": 0})));
        assert_eq!(
            paths(&errs),
            [
                "spec.config.hostname",
                "spec.config.port",
                "spec.config.username",
                "spec.config.databaseName",
                "spec.config.maxConnections"
            ]
        );
    }
}
