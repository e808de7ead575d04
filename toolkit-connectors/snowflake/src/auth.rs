//! The credential of a snowflake tool: an OAuth access token, or an RSA private key from which
//! each call signs a key-pair JWT.
//!
//! Which one is decided by the Secret's content: a PEM private key (`-----BEGIN PRIVATE
//! KEY-----`, PKCS#8, or `-----BEGIN RSA PRIVATE KEY-----`, PKCS#1) means key-pair
//! authentication; anything else is sent as an OAuth token. Encrypted keys are refused.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

/// How long a key-pair JWT is valid; Snowflake accepts at most one hour.
const JWT_LIFETIME_SECS: u64 = 59 * 60;

/// The claims of a key-pair JWT.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JwtClaims {
    /// `ACCOUNT.USER.SHA256:<fingerprint of the public key>`.
    pub iss: String,
    /// `ACCOUNT.USER`.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// A resolved credential.
pub(crate) enum Credential {
    /// An OAuth access token.
    OAuth(SecretString),
    /// A private key and the names the JWT carries.
    KeyPair {
        /// The signing key.
        key: EncodingKey,
        /// The private key in PEM, kept for sessions (`--private-key-path`).
        pem: SecretString,
        /// The JWT issuer.
        issuer: String,
        /// The JWT subject.
        subject: String,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::OAuth(_) => f.write_str("OAuth([redacted])"),
            Credential::KeyPair { issuer, .. } => f.debug_struct("KeyPair").field("issuer", issuer).finish(),
        }
    }
}

/// The account name as the JWT carries it: upper case, without the region or cloud of an
/// account locator (`xy12345.eu-west-1` -> `XY12345`).
pub(crate) fn jwt_account(account: &str) -> String {
    account.split('.').next().unwrap_or(account).to_ascii_uppercase()
}

impl Credential {
    /// Reads the Secret's value; `account` and `user` name the JWT's subject.
    pub(crate) fn from_secret(secret: SecretString, account: &str, user: &str) -> Result<Self> {
        let text = secret.expose().trim();
        if !text.starts_with("-----BEGIN") {
            if text.is_empty() {
                return Err(Error::config("read the snowflake credential: the secret is empty"));
            }
            return Ok(Credential::OAuth(SecretString::new(text)));
        }
        if text.contains("ENCRYPTED") {
            return Err(Error::config(
                "read the snowflake private key: encrypted keys are not supported; store the unencrypted PKCS#8 key",
            ));
        }
        // The parsers' errors are not attached: they say nothing useful and are kept away from
        // anything that could echo the key.
        let private = RsaPrivateKey::from_pkcs8_pem(text)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(text))
            .map_err(|_| Error::config("read the snowflake private key: it is not an RSA key in PEM (PKCS#8)"))?;
        let spki = private
            .to_public_key()
            .to_public_key_der()
            .map_err(|_| Error::internal("derive the public key of the snowflake private key"))?;
        let fingerprint = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki.as_bytes()));
        let key = EncodingKey::from_rsa_pem(text.as_bytes())
            .map_err(|_| Error::config("read the snowflake private key: it is not an RSA key in PEM (PKCS#8)"))?;
        let subject = format!("{}.{}", jwt_account(account), user.to_ascii_uppercase());
        Ok(Credential::KeyPair {
            key,
            pem: SecretString::new(text),
            issuer: format!("{subject}.SHA256:{fingerprint}"),
            subject,
        })
    }

    /// The `Authorization` header and the matching `X-Snowflake-Authorization-Token-Type`.
    pub(crate) fn authorization(&self) -> Result<(HeaderValue, &'static str)> {
        let (token, kind) = match self {
            Credential::OAuth(token) => (format!("Bearer {}", token.expose()), "OAUTH"),
            Credential::KeyPair { key, issuer, subject, .. } => {
                let iat = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let claims = JwtClaims { iss: issuer.clone(), sub: subject.clone(), iat, exp: iat + JWT_LIFETIME_SECS };
                let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key)
                    .map_err(|e| Error::internal("sign the snowflake key-pair jwt").with_source(e))?;
                (format!("Bearer {jwt}"), "KEYPAIR_JWT")
            }
        };
        let mut value = HeaderValue::from_str(&token)
            .map_err(|_| Error::config("use the snowflake credential: it holds characters a header cannot carry"))?;
        value.set_sensitive(true);
        Ok((value, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_region_from_account_locators() {
        assert_eq!(jwt_account("xy12345.eu-west-1"), "XY12345");
        assert_eq!(jwt_account("myorg-acct"), "MYORG-ACCT");
    }

    #[test]
    fn tokens_are_oauth_and_never_print() {
        let c = Credential::from_secret(SecretString::new(" tok-s3cret\n"), "a", "u").unwrap();
        assert_eq!(format!("{c:?}"), "OAuth([redacted])");
        let (h, kind) = c.authorization().unwrap();
        assert_eq!((h.to_str().unwrap(), kind), ("Bearer tok-s3cret", "OAUTH"));
        assert!(h.is_sensitive());
    }

    #[test]
    fn refuses_encrypted_and_broken_keys() {
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----";
        let e = Credential::from_secret(SecretString::new(enc), "a", "u").unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
        let bad = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        let e = Credential::from_secret(SecretString::new(bad), "a", "u").unwrap_err();
        assert!(!e.to_string().contains("AAAA"), "{e}");
    }
}
