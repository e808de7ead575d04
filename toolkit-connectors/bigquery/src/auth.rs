//! The service-account key and the JWT that is exchanged for an access token.
//!
//! The key is the JSON file Google Cloud hands out for a service account. Its `token_uri` is
//! where the signed JWT (RS256, `iss` = the account's email, `aud` = `token_uri`, the BigQuery
//! scope) is exchanged for an access token (the JWT-bearer grant of RFC 7523).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

/// The OAuth scope requested.
pub const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

/// Google's token endpoint, used when the key names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The claims of the assertion.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssertionClaims {
    /// The service account's email.
    pub iss: String,
    /// The requested scope.
    pub scope: String,
    /// The token endpoint.
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expiry, one hour later.
    pub exp: u64,
}

#[derive(Deserialize)]
struct RawKey {
    #[serde(rename = "type", default)]
    type_: Option<String>,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

/// A parsed service-account key.
pub(crate) struct ServiceAccount {
    pub(crate) email: String,
    pub(crate) token_uri: String,
    key_id: Option<String>,
    key: EncodingKey,
    /// The key file's JSON, for sessions (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub(crate) json: SecretString,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount").field("email", &self.email).field("token_uri", &self.token_uri).finish()
    }
}

impl ServiceAccount {
    /// Reads the key. Errors say what is wrong without repeating any of the file.
    pub(crate) fn from_secret(secret: SecretString) -> Result<Self> {
        let raw: RawKey = serde_json::from_str(secret.expose()).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                _ => "it is not JSON",
            };
            Error::config(format!("read the bigquery service-account key: {what}"))
                .with_context("hint", "credentialsRef must hold the JSON key of a service account")
        })?;
        if raw.type_.as_deref().is_some_and(|t| t != "service_account") {
            return Err(Error::config("read the bigquery service-account key: its type is not `service_account`"));
        }
        let token_uri = raw.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
        if !(token_uri.starts_with("https://") || token_uri.starts_with("http://")) {
            return Err(Error::config("read the bigquery service-account key: `token_uri` is not an http(s) URL"));
        }
        let key = EncodingKey::from_rsa_pem(raw.private_key.as_bytes()).map_err(|_| {
            Error::config("read the bigquery service-account key: `private_key` is not an RSA key in PEM")
        })?;
        Ok(Self { email: raw.client_email, token_uri, key_id: raw.private_key_id, key, json: secret })
    }

    /// A signed assertion for the token endpoint.
    pub(crate) fn assertion(&self) -> Result<String> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = AssertionClaims {
            iss: self.email.clone(),
            scope: SCOPE.to_owned(),
            aud: self.token_uri.clone(),
            iat,
            exp: iat + 3600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::internal("sign the bigquery token request").with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_repeat_the_key() {
        let e = ServiceAccount::from_secret(SecretString::new("s3cret-not-json")).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = ServiceAccount::from_secret(SecretString::new(r#"{"client_email": 5, "private_key": "s3cret"}"#))
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e}");
        let e = ServiceAccount::from_secret(SecretString::new(r#"{"client_email": "a@b", "private_key": "s3cret"}"#))
            .unwrap_err();
        assert!(e.to_string().contains("private_key") && !e.to_string().contains("s3cret"), "{e}");
    }
}
