//! The typed settings of a snowflake tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;
use url::Url;

/// `spec.config` of a snowflake tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnowflakeSettings {
    /// Account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// A base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Warehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    /// The database to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// How long connecting (and the probe) may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect, validated. Holds a reference to the credential, never the value.
#[derive(Clone, Debug, PartialEq)]
pub struct SnowflakeConfig {
    /// Account identifier, such as `xy12345.eu-west-1` or `myorg-myaccount`.
    pub account: String,
    /// Base URL of the SQL API; `https://<account>.snowflakecomputing.com` unless `url` is set.
    pub base_url: Url,
    /// Login name.
    pub username: String,
    /// The OAuth token or PKCS#8 private key, resolved on first use.
    pub credentials_ref: SecretKeySelector,
    /// Role the statements run with.
    pub role: Option<String>,
    /// Warehouse the statements run on.
    pub warehouse: Option<String>,
    /// Default database.
    pub database: Option<String>,
    /// Default schema.
    pub schema: Option<String>,
    /// Time allowed to connect and for the probe.
    pub connect_timeout: Duration,
}

impl SnowflakeConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<SnowflakeSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for snowflake tools (account, username, credentialsRef)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let account = c.account.clone().unwrap_or_default();
        if account.is_empty() {
            errs.push(FieldError::new("spec.config.account", "is required (such as `xy12345.eu-west-1`)"));
        } else if !account.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_')) {
            errs.push(FieldError::new("spec.config.account", format!("`{account}` is not an account identifier")));
        }
        let base_url = match &c.url {
            Some(u) => match Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                    if !url.username().is_empty() || url.password().is_some() {
                        errs.push(FieldError::new("spec.config.url", "must not contain credentials"));
                    }
                    Some(url)
                }
                Ok(_) => {
                    errs.push(FieldError::new("spec.config.url", "must be an http:// or https:// URL with a host"));
                    None
                }
                Err(e) => {
                    errs.push(FieldError::new("spec.config.url", format!("is not a valid URL: {e}")));
                    None
                }
            },
            None => Url::parse(&format!("https://{}.snowflakecomputing.com", account.to_ascii_lowercase())).ok(),
        };
        let username = c.username.clone().unwrap_or_default();
        if username.trim().is_empty() {
            errs.push(FieldError::new("spec.config.username", "is required"));
        }
        if c.credentials_ref.is_none() {
            errs.push(FieldError::new(
                "spec.config.credentialsRef",
                "is required: an OAuth token, or a PKCS#8 private key for key-pair authentication",
            ));
        }
        for (value, path) in [
            (&c.role, "spec.config.role"),
            (&c.warehouse, "spec.config.warehouse"),
            (&c.database_name, "spec.config.databaseName"),
            (&c.schema, "spec.config.schema"),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                errs.push(FieldError::new(path, "must not be empty"));
            }
        }
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        match (errs.is_empty(), base_url, c.credentials_ref.clone()) {
            (true, Some(base_url), Some(credentials_ref)) => Ok(SnowflakeConfig {
                account,
                base_url,
                username,
                credentials_ref,
                role: c.role.clone(),
                warehouse: c.warehouse.clone(),
                database: c.database_name.clone(),
                schema: c.schema.clone(),
                connect_timeout,
            }),
            _ => Err(errs),
        }
    }

    /// `host:port` of the API, for messages.
    pub fn endpoint(&self) -> String {
        let host = self.base_url.host_str().unwrap_or_default();
        match self.base_url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "snowflake".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn defaults_the_url_from_the_account() {
        let cfg = SnowflakeConfig::from_spec(&spec(json!({
            "account": "XY12345.eu-west-1", "username": "app",
            "credentialsRef": {"name": "sf", "key": "token"}
        })))
        .unwrap();
        assert_eq!(cfg.base_url.as_str(), "https://xy12345.eu-west-1.snowflakecomputing.com/");
        assert_eq!(cfg.endpoint(), "xy12345.eu-west-1.snowflakecomputing.com:443");
    }

    #[test]
    fn names_every_problem_by_path() {
        let errs =
            SnowflakeConfig::from_spec(&spec(json!({"hostname": "h", "url": "ftp://x", "role": ""}))).unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.config.hostname",
                "spec.config.account",
                "spec.config.url",
                "spec.config.username",
                "spec.config.credentialsRef",
                "spec.config.role"
            ]
        );
    }
}
