//! Credentials of HTTP servers and stdio environments, resolved when a connection is made.
//!
//! Values go straight into header values marked sensitive or into the child's environment;
//! the resolved values are also returned so that the server's stderr can be redacted.

use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use toolkit_core::connector::EnvEntry;
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::{EnvVar, SecretKeySelector};
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, Result};

use crate::config::AuthConfig;

/// Where secret and ConfigMap references of one tool are resolved.
#[derive(Clone)]
pub(crate) struct Resolver {
    pub(crate) namespace: String,
    pub(crate) secrets: Arc<dyn SecretResolver>,
    pub(crate) config_maps: Arc<ConfigMaps>,
}

impl Resolver {
    pub(crate) async fn secret(&self, sel: &SecretKeySelector, seen: &mut Vec<SecretString>) -> Result<SecretString> {
        let value = self.secrets.resolve(&self.namespace, sel).await?;
        seen.push(value.clone());
        Ok(value)
    }

    /// The headers carrying `auth`, marked sensitive; none for `tokenExchange`, whose token is
    /// per caller.
    pub(crate) async fn headers(&self, auth: &AuthConfig, seen: &mut Vec<SecretString>) -> Result<HeaderMap> {
        let (name, value) = match auth {
            AuthConfig::Bearer { token } => {
                let token = self.secret(token, seen).await?;
                (AUTHORIZATION, SecretString::new(format!("Bearer {}", token.expose())))
            }
            AuthConfig::Basic { username, username_ref, password } => {
                let user = match (username, username_ref) {
                    (_, Some(sel)) => self.secret(sel, seen).await?,
                    (Some(u), None) => SecretString::new(u.clone()),
                    (None, None) => SecretString::new(String::new()),
                };
                let password = self.secret(password, seen).await?;
                let pair = format!("{}:{}", user.expose(), password.expose());
                let encoded = SecretString::new(base64::engine::general_purpose::STANDARD.encode(pair));
                seen.push(encoded.clone());
                (AUTHORIZATION, SecretString::new(format!("Basic {}", encoded.expose())))
            }
            AuthConfig::ApiKey { header, key } => {
                let name = HeaderName::from_bytes(header.as_bytes())
                    .map_err(|e| Error::config(format!("use `{header}` as a header name")).with_source(e))?;
                (name, self.secret(key, seen).await?)
            }
            AuthConfig::TokenExchange(_) => return Ok(HeaderMap::new()),
        };
        // The value is not in the message: a header value is refused for its characters.
        let mut value = HeaderValue::from_str(value.expose())
            .map_err(|_| Error::config("put the credential in a header: it holds characters headers cannot carry"))?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        Ok(headers)
    }

    /// The environment of a stdio server, in declaration order; values from Secrets are
    /// secret entries.
    pub(crate) async fn env(&self, env: &[EnvVar], seen: &mut Vec<SecretString>) -> Result<Vec<EnvEntry>> {
        let mut out = Vec::with_capacity(env.len());
        for var in env {
            let from = var.value_from.as_ref();
            let secret = from.and_then(|f| f.secret_key_ref.as_ref());
            let config_map = from.and_then(|f| f.config_map_key_ref.as_ref());
            let entry = match (&var.value, secret, config_map) {
                (Some(v), _, _) => EnvEntry::plain(&var.name, v.clone()),
                (None, Some(sel), _) => EnvEntry::secret(&var.name, self.secret(sel, seen).await?),
                (None, None, Some(cm)) => {
                    EnvEntry::plain(&var.name, self.config_maps.get(&self.namespace, &cm.name, &cm.key)?)
                }
                (None, None, None) => {
                    return Err(Error::config(format!("set env `{}`: it has no value", var.name)));
                }
            };
            out.push(entry);
        }
        Ok(out)
    }
}
