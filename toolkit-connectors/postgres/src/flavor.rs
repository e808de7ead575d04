//! The engines that speak the postgres wire protocol and share this connector: PostgreSQL,
//! CockroachDB and Amazon Redshift. They differ only in their tool type, default port and
//! default TLS mode; everything else (SQL over sqlx, read-only transactions, grants) is shared.

use toolkit_connector_sql::ServerDefaults;
use toolkit_core::ToolType;
use toolkit_core::model::SslMode;

/// One engine served by this crate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PostgresFlavor {
    /// PostgreSQL.
    #[default]
    Postgres,
    /// CockroachDB.
    Cockroachdb,
    /// Amazon Redshift.
    Redshift,
}

impl PostgresFlavor {
    /// The flavor serving `tool_type`; postgres for any type this crate does not serve.
    pub fn from_tool_type(tool_type: ToolType) -> Self {
        match tool_type {
            ToolType::Cockroachdb => Self::Cockroachdb,
            ToolType::Redshift => Self::Redshift,
            _ => Self::Postgres,
        }
    }

    /// The tool type of manifests for this engine.
    pub fn tool_type(self) -> ToolType {
        match self {
            Self::Postgres => ToolType::Postgres,
            Self::Cockroachdb => ToolType::Cockroachdb,
            Self::Redshift => ToolType::Redshift,
        }
    }

    /// The engine's name in messages (the tool type's name).
    pub fn name(self) -> &'static str {
        self.tool_type().as_str()
    }

    /// The port used when `port` is not set.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::Cockroachdb => 26257,
            Self::Redshift => 5439,
        }
    }

    /// The TLS mode used when `sslMode` is not set: Redshift clusters take TLS connections.
    pub fn default_ssl_mode(self) -> SslMode {
        match self {
            Self::Postgres | Self::Cockroachdb => SslMode::Prefer,
            Self::Redshift => SslMode::Require,
        }
    }

    /// What the engine fills in when a manifest leaves it out.
    pub fn defaults(self) -> ServerDefaults {
        ServerDefaults { engine: self.name(), port: self.default_port(), ssl_mode: self.default_ssl_mode() }
    }

    /// The engine a server's `version()` names: CockroachDB says "CockroachDB CCL v...", Redshift
    /// appends "Redshift" to a PostgreSQL 8.0 string; anything else is PostgreSQL.
    pub fn engine_of_version(version: &str) -> &'static str {
        if version.contains("CockroachDB") {
            "cockroachdb"
        } else if version.contains("Redshift") {
            "redshift"
        } else {
            "postgres"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors() {
        for f in [PostgresFlavor::Postgres, PostgresFlavor::Cockroachdb, PostgresFlavor::Redshift] {
            assert_eq!(PostgresFlavor::from_tool_type(f.tool_type()), f);
        }
        assert_eq!(PostgresFlavor::Cockroachdb.default_port(), 26257);
        assert_eq!(PostgresFlavor::Redshift.default_ssl_mode(), SslMode::Require);
        assert_eq!(PostgresFlavor::engine_of_version("CockroachDB CCL v23.1.11 (x86_64)"), "cockroachdb");
        assert_eq!(
            PostgresFlavor::engine_of_version("PostgreSQL 8.0.2 on i686-pc-linux-gnu, Redshift 1.0.77467"),
            "redshift"
        );
        assert_eq!(PostgresFlavor::engine_of_version("PostgreSQL 16.4 (Debian)"), "postgres");
    }
}
