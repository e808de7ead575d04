//! The typed connection settings of a postgres tool, and their pure validation (shared with the
//! other SQL server engines in `toolkit-connector-sql`).

use toolkit_core::ToolSpec;
use toolkit_core::validate::FieldError;

use crate::flavor::PostgresFlavor;
use crate::permissions;

pub use toolkit_connector_sql::Username;

/// Validated connection settings. Holds references to secrets, never their values. `sslMode`
/// defaults to `prefer` (as libpq), `require` for redshift.
pub type PgConfig = toolkit_connector_sql::ServerConfig;

/// Validates `spec` and returns the typed settings, or every problem found.
pub fn from_spec(spec: &ToolSpec) -> Result<PgConfig, Vec<FieldError>> {
    PgConfig::from_spec(spec, PostgresFlavor::from_type_name(&spec.type_).defaults(), permissions::validate_rules)
}

/// Checks the postgres-specific parts of a spec: `spec.config` and `spec.permissions.rules`.
pub fn validate(spec: &ToolSpec) -> Vec<FieldError> {
    let engine = PostgresFlavor::from_type_name(&spec.type_).name();
    toolkit_connector_sql::config::validate(spec, engine, permissions::validate_rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use toolkit_core::model::SslMode;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { config: Some(config), ..ToolSpec::of_type("postgres") }
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let s = spec(serde_json::json!({"hostname": "db", "username": "app", "databaseName": "shop"}));
        let c = from_spec(&s).expect("valid");
        assert_eq!(c.port, 5432);
        assert_eq!(c.ssl_mode, SslMode::Prefer);
        assert_eq!(c.max_connections, 5);
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.address(), "db:5432");
    }

    #[test]
    fn flavors_have_their_defaults() {
        let mut s = spec(serde_json::json!({"hostname": "db", "username": "app", "databaseName": "dev"}));
        s.type_ = "redshift".into();
        let c = from_spec(&s).expect("valid");
        assert_eq!((c.port, c.ssl_mode), (5439, SslMode::Require));
        s.type_ = "cockroachdb".into();
        let c = from_spec(&s).expect("valid");
        assert_eq!((c.port, c.ssl_mode), (26257, SslMode::Prefer));
        s.config.as_mut().expect("config")["uri"] = "x".into();
        assert!(validate(&s)[0].message.contains("not used by cockroachdb tools"), "{:?}", validate(&s));
    }

    #[test]
    fn refuses_keys_of_other_types() {
        let errs = validate(&spec(serde_json::json!({
            "hostname": "db", "username": "app", "databaseName": "shop", "uri": "postgres://x",
        })));
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.uri"]);
        assert!(errs[0].message.contains("not used by postgres tools"), "{}", errs[0].message);
    }
}
