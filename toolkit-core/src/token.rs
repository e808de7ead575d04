//! Tokens from OAuth token endpoints, without the HTTP: the RFC 8693 token exchange request a
//! connector posts, the endpoint's answer read into a token and when to renew it, and a bounded
//! cache keyed by the caller's token. Connectors send the request with their own HTTP client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::Digest as _;
use url::Url;

use crate::model::{AuthType, Authentication, SecretKeySelector};
use crate::secret::SecretString;

/// Tokens are renewed this long before they expire.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// Lifetime assumed when the token endpoint gives no `expires_in`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Tokens are renewed at least this often, whatever `expires_in` says.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Bytes of a token endpoint answer worth reading.
pub const RESPONSE_CAP: usize = 64 * 1024;

/// A tool's RFC 8693 token exchange: the caller's access token is traded at `token_url` for one
/// the upstream accepts, which is what the upstream receives.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenExchange {
    /// The token endpoint.
    pub token_url: Url,
    /// The gateway's client id there.
    pub client_id: String,
    /// Its secret, sent with HTTP Basic when the endpoint wants one.
    pub client_secret: Option<SecretKeySelector>,
    /// The audience asked for (the upstream's identifier).
    pub audience: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
}

impl TokenExchange {
    /// The exchange an `authentication` block of type `tokenExchange` declares; `None` for other
    /// types or when `tokenUrl` or `clientId` is missing or wrong ([`Authentication::check`]
    /// reports those).
    pub fn from_authentication(a: &Authentication) -> Option<Self> {
        if a.type_ != AuthType::TokenExchange {
            return None;
        }
        let token_url = Url::parse(a.token_url.as_deref()?).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
        Some(Self {
            token_url,
            client_id: a.client_id.clone()?,
            client_secret: a.secret_ref.clone(),
            audience: a.audience.clone(),
            scopes: a.scopes.clone(),
        })
    }

    /// The form body (`application/x-www-form-urlencoded`) exchanging `subject`. Without a
    /// client secret the client id goes in the form; with one it goes in HTTP Basic.
    pub fn form(&self, subject: &SecretString) -> SecretString {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
            .append_pair("subject_token", subject.expose())
            .append_pair("subject_token_type", "urn:ietf:params:oauth:token-type:access_token")
            .append_pair("requested_token_type", "urn:ietf:params:oauth:token-type:access_token");
        if let Some(a) = &self.audience {
            form.append_pair("audience", a);
        }
        if !self.scopes.is_empty() {
            form.append_pair("scope", &self.scopes.join(" "));
        }
        if self.client_secret.is_none() {
            form.append_pair("client_id", &self.client_id);
        }
        SecretString::new(form.finish())
    }
}

/// A token a token endpoint issued, and when to stop using it.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The access token.
    pub token: SecretString,
    /// [`EXPIRY_MARGIN`] before it expires, and at most [`MAX_LIFETIME`] from now.
    pub renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl IssuedToken {
    /// Reads a successful token endpoint answer (RFC 6749 section 5.1); `None` when it holds no
    /// `access_token`.
    pub fn read(body: &[u8]) -> Option<Self> {
        let parsed: TokenResponse = serde_json::from_slice(body).ok()?;
        if parsed.access_token.is_empty() {
            return None;
        }
        let lifetime = parsed.expires_in.map_or(DEFAULT_LIFETIME, Duration::from_secs).min(MAX_LIFETIME);
        Some(Self {
            token: SecretString::new(parsed.access_token),
            renew_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        })
    }

    /// Whether it is still to be used.
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

/// Values kept per caller token until a deadline, keyed by the token's SHA-256 (the token
/// itself is not kept). Past `capacity` entries the stale ones go, then all.
pub struct SubjectCache<V> {
    entries: Mutex<HashMap<[u8; 32], (V, Instant)>>,
    capacity: usize,
}

impl<V: Clone> SubjectCache<V> {
    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn key(subject: &SecretString) -> [u8; 32] {
        sha2::Sha256::digest(subject.expose().as_bytes()).into()
    }

    /// The value kept for `subject`, unless its deadline passed.
    pub fn get(&self, subject: &SecretString) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(&Self::key(subject)).filter(|(_, until)| Instant::now() < *until).map(|(v, _)| v.clone())
    }

    /// Keeps `value` for `subject` until `until`; returns the values that made room (dropping
    /// them is up to the caller, outside the cache's lock).
    pub fn insert(&self, subject: &SecretString, value: V, until: Instant) -> Vec<V> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut gone = Vec::new();
        if entries.len() >= self.capacity {
            let now = Instant::now();
            let stale: Vec<[u8; 32]> = entries.iter().filter(|(_, (_, u))| *u <= now).map(|(k, _)| *k).collect();
            gone.extend(stale.iter().filter_map(|k| entries.remove(k)).map(|(v, _)| v));
            if entries.len() >= self.capacity {
                gone.extend(entries.drain().map(|(_, (v, _))| v));
            }
        }
        if let Some((old, _)) = entries.insert(Self::key(subject), (value, until)) {
            gone.push(old);
        }
        gone
    }

    /// Takes every entry out.
    pub fn drain(&self) -> Vec<V> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.drain().map(|(_, (v, _))| v).collect()
    }

    /// Entries kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(secret: bool) -> TokenExchange {
        let a: Authentication = serde_json::from_value(serde_json::json!({
            "type": "tokenExchange", "tokenUrl": "https://idp/token", "clientId": "gw",
            "audience": "https://api", "scopes": ["a", "b"],
        }))
        .unwrap();
        let mut x = TokenExchange::from_authentication(&a).unwrap();
        if secret {
            x.client_secret = Some(SecretKeySelector { name: "s".into(), key: "k".into(), namespace: None });
        }
        x
    }

    #[test]
    fn the_form_holds_the_subject_and_the_client_id_only_without_a_secret() {
        let subject = SecretString::new("caller&token=1");
        let form = exchange(false).form(&subject);
        let pairs: HashMap<String, String> =
            url::form_urlencoded::parse(form.expose().as_bytes()).into_owned().collect();
        assert_eq!(pairs["grant_type"], "urn:ietf:params:oauth:grant-type:token-exchange");
        assert_eq!(pairs["subject_token"], "caller&token=1");
        assert_eq!(pairs["audience"], "https://api");
        assert_eq!(pairs["scope"], "a b");
        assert_eq!(pairs["client_id"], "gw");
        let form = exchange(true).form(&subject);
        assert!(!form.expose().contains("client_id"));
    }

    #[test]
    fn only_a_complete_token_exchange_block_is_read() {
        let a = |v: serde_json::Value| TokenExchange::from_authentication(&serde_json::from_value(v).unwrap());
        assert!(a(serde_json::json!({"type": "tokenExchange", "tokenUrl": "ftp://x", "clientId": "c"})).is_none());
        assert!(a(serde_json::json!({"type": "tokenExchange", "tokenUrl": "https://x"})).is_none());
        assert!(a(serde_json::json!({"type": "oauth2", "tokenUrl": "https://x", "clientId": "c"})).is_none());
    }

    #[test]
    fn answers_are_read_with_a_bounded_lifetime() {
        let t = IssuedToken::read(br#"{"access_token":"t","expires_in":3600}"#).unwrap();
        assert_eq!(t.token.expose(), "t");
        assert!(t.is_fresh());
        let short = IssuedToken::read(br#"{"access_token":"t","expires_in":10}"#).unwrap();
        assert!(!short.is_fresh(), "a token that expires within the margin is renewed at once");
        assert!(IssuedToken::read(br#"{"token":"t"}"#).is_none());
        assert!(IssuedToken::read(br#"{"access_token":""}"#).is_none());
    }

    #[test]
    fn the_cache_keeps_per_subject_and_makes_room() {
        let cache = SubjectCache::new(2);
        let later = Instant::now() + Duration::from_secs(60);
        let (a, b, c) = (SecretString::new("a"), SecretString::new("b"), SecretString::new("c"));
        assert!(cache.insert(&a, 1, later).is_empty());
        assert_eq!(cache.insert(&a, 2, later), [1]);
        assert!(cache.insert(&b, 3, Instant::now()).is_empty());
        assert_eq!(cache.get(&a), Some(2));
        assert_eq!(cache.get(&b), None, "past its deadline");
        assert_eq!(cache.insert(&c, 4, later), [3], "the stale entry made room");
        assert_eq!(cache.len(), 2);
    }
}
