//! The engines that speak the postgres wire protocol and share this connector: PostgreSQL,
//! CockroachDB and Amazon Redshift. They differ only in their tool type, default port and
//! default TLS mode; everything else (SQL over sqlx, read-only transactions, grants) is shared.

use toolkit_connector_sql::ServerDefaults;
use toolkit_core::model::SslMode;
use toolkit_policy::SqlDialect;

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
    /// The flavor serving the tool type `name`; postgres for any type this crate does not serve.
    pub fn from_type_name(name: &str) -> Self {
        match name {
            "cockroachdb" => Self::Cockroachdb,
            "redshift" => Self::Redshift,
            _ => Self::Postgres,
        }
    }

    /// The engine's tool type, also its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Cockroachdb => "cockroachdb",
            Self::Redshift => "redshift",
        }
    }

    /// One line on the engine, for listings.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Postgres => "PostgreSQL",
            Self::Cockroachdb => "CockroachDB, over the postgres wire protocol",
            Self::Redshift => "Amazon Redshift, over the postgres wire protocol",
        }
    }

    /// The dialect its statements are parsed in.
    pub fn dialect(self) -> SqlDialect {
        match self {
            Self::Postgres | Self::Cockroachdb => SqlDialect::Postgres,
            Self::Redshift => SqlDialect::Redshift,
        }
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
            assert_eq!(PostgresFlavor::from_type_name(f.name()), f);
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
