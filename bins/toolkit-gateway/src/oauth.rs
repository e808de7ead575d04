//! The gateway as an OAuth 2.1 resource server, as the MCP authorization spec asks: access
//! tokens from the organisation's identity provider, checked here, beside the static API tokens.
//!
//! - **Protected Resource Metadata** (RFC 9728) at `/.well-known/oauth-protected-resource` and
//!   its path-inserted form `/.well-known/oauth-protected-resource/mcp`: the resource, its
//!   authorization servers (the configured issuers) and the scopes it knows. A 401 names it in
//!   `WWW-Authenticate: Bearer resource_metadata="…"`.
//! - **JWT access tokens** checked against the issuer's JWKS, found through RFC 8414 metadata
//!   (`/.well-known/oauth-authorization-server`) or OpenID discovery, cached, and fetched again
//!   when a token names a key it does not hold (at most once per [`OAuthConfig::jwks_min_refresh`]).
//!   Asymmetric algorithms only (RS*, PS*, ES256/384, EdDSA): `none` and HMAC are refused
//!   before any key is looked at, and a key must be of the family its token's `alg` names. `iss`
//!   must be a configured issuer, `aud` must name this resource, `exp` is required and `exp`
//!   and `nbf` are checked with [`OAuthConfig::leeway`].
//! - **Opaque tokens** (anything not shaped as a JWT), with `--oauth-introspection-url`: asked
//!   of the issuer's RFC 7662 endpoint (client credentials by HTTP Basic), and accepted only when
//!   `active`, of a configured issuer (when it says), for this audience, unexpired and with a
//!   subject. Answers are kept for a minute at most (never past `exp`), refusals for ten
//!   seconds, by the token's SHA-256.
//! - **Callers**: `oidc:<sub>` (with the client, `oidc:<sub>@<client_id>`), in the audit and for
//!   per-caller limits. Required scopes (`--oauth-scope`) give 403 `insufficient_scope` when
//!   missing; grants (`--oauth-grant VALUE=PATTERN,…`) map values of one claim (`--oauth-claim`,
//!   `scope` by default; a space-separated string or an array) to the tools a caller may see
//!   and call, as a token's `tools` does. Without grants a valid token may call every tool.
//!
//! The token itself is never forwarded: the `Authorization` header is removed before the MCP
//! handler, and no tool sees it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock};
use toolkit_core::{Error, Result, SecretString};
use toolkit_runtime::{Caller, Scope};

/// Algorithms a token may be signed with: asymmetric only.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How long a request to an issuer (discovery, JWKS) may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes of a token at most; longer ones are refused unread.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The resource server's settings.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// Issuers whose tokens are accepted (`iss`, exactly), each an authorization server.
    pub issuers: Vec<String>,
    /// This resource's identifier: the public URL of `/mcp`, such as `https://gw.example.com/mcp`.
    pub resource: String,
    /// The audience a token must name; the resource when `None`.
    pub audience: Option<String>,
    /// Scopes every token must hold.
    pub required_scopes: Vec<String>,
    /// The claim grants read.
    pub claim: String,
    /// Claim values and the tool patterns (`NAMESPACE/NAME` globs) each grants.
    pub grants: Vec<(String, Vec<String>)>,
    /// Slack on `exp` and `nbf`.
    pub leeway: Duration,
    /// The least time between two fetches of an issuer's JWKS.
    pub jwks_min_refresh: Duration,
    /// Where opaque tokens are introspected (RFC 7662), and as which client.
    pub introspection: Option<Introspection>,
}

/// An RFC 7662 endpoint and the client credentials it takes.
#[derive(Clone, Debug)]
pub struct Introspection {
    /// The endpoint.
    pub url: String,
    /// The gateway's client id at the authorization server.
    pub client_id: String,
    /// Its secret (HTTP Basic); the id alone is sent in the form without one.
    pub client_secret: Option<toolkit_core::SecretString>,
}

impl OAuthConfig {
    /// Settings for `issuers` and `resource`, with the defaults.
    pub fn new(issuers: Vec<String>, resource: impl Into<String>) -> Self {
        Self {
            issuers,
            resource: resource.into(),
            audience: None,
            required_scopes: Vec::new(),
            claim: "scope".into(),
            grants: Vec::new(),
            leeway: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(10),
            introspection: None,
        }
    }

    /// Parses `VALUE=PATTERN[,PATTERN…]`, as `--oauth-grant` takes it.
    pub fn parse_grant(text: &str) -> std::result::Result<(String, Vec<String>), String> {
        let (value, patterns) =
            text.split_once('=').ok_or_else(|| format!("`{text}`: write VALUE=NAMESPACE/TOOL[,NAMESPACE/TOOL…]"))?;
        let patterns: Vec<String> =
            patterns.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        if value.trim().is_empty() || patterns.is_empty() {
            return Err(format!("`{text}`: write VALUE=NAMESPACE/TOOL[,NAMESPACE/TOOL…]"));
        }
        Ok((value.trim().to_owned(), patterns))
    }
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not a valid token of an accepted issuer for this resource (401 `invalid_token`); the
    /// reason is for the log, never for the client.
    Invalid(String),
    /// Valid, but without a scope this resource needs (403 `insufficient_scope`).
    InsufficientScope,
    /// An issuer could not be reached to check it (503).
    Unavailable(String),
}

/// One issuer's keys (none until a fetch succeeds), and when they were last asked for.
struct Keys {
    set: JwkSet,
    fetched: Instant,
    /// Why the last fetch failed, if it did.
    failed: Option<String>,
}

/// An accepted introspection answer, kept until the instant.
type Introspected = (Caller, Instant);

/// Introspection requests in flight at most.
const MAX_INTROSPECTING: usize = 8;

/// Accepted introspection answers kept at most.
const MAX_ACCEPTED: usize = 10_000;

/// Refused tokens remembered at most.
const MAX_REFUSED: usize = 1_024;

/// Checks access tokens; cheap to share.
pub struct Verifier {
    config: OAuthConfig,
    /// The Protected Resource Metadata's URL (RFC 9728 inserts the well-known prefix before the
    /// resource's path, as RFC 8414 does for issuers).
    metadata_url: String,
    grants: Vec<(String, Vec<String>)>,
    scopes: HashMap<String, Arc<Scope>>,
    http: reqwest::Client,
    /// Keys per issuer, read by every request.
    keys: RwLock<HashMap<String, Keys>>,
    /// One per issuer, held while its keys are fetched, so that one request fetches and the
    /// others wait; another issuer's fetch does not.
    fetching: HashMap<String, Mutex<()>>,
    metadata_of: Mutex<HashMap<String, ServerMetadata>>,
    /// Introspection answers by the token's SHA-256: accepted ones until they expire, refusals
    /// briefly, in two maps so that a flood of bad tokens never pushes out good answers.
    accepted: Mutex<HashMap<[u8; 32], Introspected>>,
    refused: Mutex<HashMap<[u8; 32], (Rejection, Instant)>>,
    /// Introspections in flight at most.
    introspecting: tokio::sync::Semaphore,
    /// When the introspection endpoint last failed to answer.
    introspection_failed: Mutex<Option<(Instant, String)>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.config.issuers)
            .field("resource", &self.config.resource)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
struct ServerMetadata {
    issuer: Option<String>,
    jwks_uri: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

/// Where a person signs in at an issuer (authorization code with PKCE): its authorization and
/// token endpoints, from its metadata.
#[derive(Clone, Debug)]
pub struct LoginEndpoints {
    /// Where the browser is sent.
    pub authorization: url::Url,
    /// Where the code is redeemed.
    pub token: url::Url,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl Verifier {
    /// A verifier for `config`; errors name the flag that is wrong.
    pub fn new(config: OAuthConfig) -> Result<Self> {
        if config.issuers.is_empty() {
            return Err(Error::config("--oauth-issuer: give at least one issuer URL"));
        }
        for issuer in &config.issuers {
            secure_url("--oauth-issuer", issuer)?;
        }
        if let Some(i) = &config.introspection {
            secure_url("--oauth-introspection-url", &i.url)?;
        }
        for scope in &config.required_scopes {
            check_scope("--oauth-scope", scope)?;
        }
        for (value, _) in &config.grants {
            check_scope("--oauth-grant", value)?;
        }
        let resource = url::Url::parse(&config.resource).map_err(|e| {
            Error::config(format!("--oauth-resource: `{}` is not a URL: {e}", config.resource))
                .with_context("hint", "give the gateway's public URL of /mcp, such as https://gateway.example.com/mcp")
        })?;
        if !matches!(resource.scheme(), "https" | "http") || resource.fragment().is_some() || resource.query().is_some()
        {
            return Err(Error::config(format!(
                "--oauth-resource: `{}` must be an http(s) URL without a query or fragment",
                config.resource
            )));
        }
        let mut scopes = HashMap::new();
        for (value, patterns) in &config.grants {
            let scope = Scope::new(None, Some(patterns))
                .map_err(|e| Error::config(format!("--oauth-grant {value}: {}", e.message())))?;
            scopes.insert(value.clone(), Arc::new(scope));
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal("make the OAuth HTTP client").with_source(e))?;
        let fetching = config.issuers.iter().map(|i| (i.clone(), Mutex::new(()))).collect();
        Ok(Self {
            metadata_url: well_known(&config.resource, "oauth-protected-resource"),
            grants: config.grants.clone(),
            config,
            scopes,
            http,
            keys: RwLock::new(HashMap::new()),
            fetching,
            metadata_of: Mutex::new(HashMap::new()),
            accepted: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            introspecting: tokio::sync::Semaphore::new(MAX_INTROSPECTING),
            introspection_failed: Mutex::new(None),
        })
    }

    /// Whether any valid token may call every tool (no required scope, no grant).
    pub fn grants_everything(&self) -> bool {
        self.config.required_scopes.is_empty() && self.grants.is_empty()
    }

    /// The resource's identifier.
    pub fn resource(&self) -> &str {
        &self.config.resource
    }

    /// The path the metadata is served at, on this gateway: the well-known prefix and the
    /// resource's path (`/.well-known/oauth-protected-resource/mcp`).
    pub fn metadata_path(&self) -> String {
        url::Url::parse(&self.metadata_url).map(|u| u.path().to_owned()).unwrap_or_default()
    }

    /// The URL of the Protected Resource Metadata for the resource (path-inserted form).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The scopes to name in metadata and in an `insufficient_scope` challenge.
    pub fn scopes(&self) -> Vec<String> {
        let mut out = self.config.required_scopes.clone();
        if self.config.claim == "scope" {
            out.extend(self.grants.iter().map(|(v, _)| v.clone()));
        }
        out.dedup();
        out
    }

    /// The Protected Resource Metadata document (RFC 9728).
    pub fn metadata(&self) -> Value {
        json!({
            "resource": self.config.resource,
            "authorization_servers": self.config.issuers,
            "scopes_supported": self.scopes(),
            "bearer_methods_supported": ["header"],
            "resource_name": "toolkit-gateway",
        })
    }

    /// Whether `token` is shaped as a JWT (three base64url parts), so worth checking here.
    pub fn looks_like_jwt(token: &str) -> bool {
        token.len() <= MAX_TOKEN_BYTES && token.split('.').count() == 3
    }

    /// The caller `token` makes a request, or why not.
    pub async fn verify(&self, token: &str) -> std::result::Result<Caller, Rejection> {
        let invalid = |why: &str| Rejection::Invalid(why.to_owned());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid("too long"));
        }
        if !Self::looks_like_jwt(token) {
            return match &self.config.introspection {
                Some(endpoint) => self.introspect(endpoint, token).await,
                None => Err(invalid("not a JWT, and no introspection endpoint is configured")),
            };
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| Rejection::Invalid(format!("header: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Rejection::Invalid(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let payload = unverified_payload(token).ok_or_else(|| invalid("the payload is not a JSON object"))?;
        // jsonwebtoken 9 skips the `nbf` check when it is not a number: refuse such tokens.
        for claim in ["exp", "nbf", "iat"] {
            if payload.get(claim).is_some_and(|v| !v.is_number()) {
                return Err(Rejection::Invalid(format!("`{claim}` is not a number")));
            }
        }
        let issuer =
            payload.get("iss").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| invalid("no iss claim"))?;
        if !self.config.issuers.contains(&issuer) {
            return Err(invalid("the issuer is not accepted"));
        }
        let jwk = self.key(&issuer, header.kid.as_deref()).await?;
        if let Some(alg) = &jwk.common.key_algorithm
            && format!("{alg:?}") != format!("{:?}", header.alg)
        {
            return Err(invalid("the key is for another algorithm"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| Rejection::Invalid(format!("key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_deref().unwrap_or(&self.config.resource)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway.as_secs();
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| Rejection::Invalid(format!("{:?}", e.kind())))?;
        self.caller(data.claims, Some(&issuer)).map(|c| c.with_subject_token(toolkit_core::SecretString::new(token)))
    }

    /// `oidc:<sub>` or `oidc:<sub>@<client>`; with several issuers the subject is prefixed by
    /// its issuer's host (`oidc:id.example.com/<sub>`), so that two issuers' subjects never
    /// meet. Control characters go, `%`, `@` and `/` are percent-encoded, each part is cut to
    /// 128 characters.
    fn caller_id(&self, issuer: Option<&str>, sub: &str, client: Option<&str>) -> String {
        let clean = |text: &str| -> String {
            text.chars()
                .filter(|c| !c.is_control())
                .take(128)
                .map(|c| match c {
                    '%' => "%25".to_owned(),
                    '@' => "%40".to_owned(),
                    '/' => "%2F".to_owned(),
                    c => c.to_string(),
                })
                .collect()
        };
        let mut id = String::from("oidc:");
        if self.config.issuers.len() > 1 {
            let host = issuer.and_then(|i| url::Url::parse(i).ok()).map(|u| {
                let host = u.host_str().unwrap_or_default().to_owned();
                let path = u.path().trim_end_matches('/').to_owned();
                match u.port() {
                    Some(p) => format!("{host}:{p}{path}"),
                    None => format!("{host}{path}"),
                }
            });
            id.push_str(&clean(&host.unwrap_or_default()).replace("%2F", "/"));
            id.push('/');
        }
        id.push_str(&clean(sub));
        if let Some(c) = client {
            id.push('@');
            id.push_str(&clean(c));
        }
        id
    }

    /// The caller of checked claims: required scopes, then grants.
    fn caller(&self, claims: Claims, issuer: Option<&str>) -> std::result::Result<Caller, Rejection> {
        let invalid = |why: &str| Rejection::Invalid(why.to_owned());
        let sub = claims.sub.filter(|s| !s.is_empty()).ok_or_else(|| invalid("no sub claim"))?;
        let scopes = values(claims.rest.get("scope"));
        if !self.config.required_scopes.iter().all(|s| scopes.contains(s)) {
            return Err(Rejection::InsufficientScope);
        }
        let client = claims.client_id.or(claims.azp).filter(|c| !c.is_empty());
        let id = self.caller_id(issuer, &sub, client.as_deref());
        if self.scopes.is_empty() {
            return Ok(Caller::new(id));
        }
        let held = values(claims.rest.get(&self.config.claim));
        let mut patterns = Vec::new();
        for (value, granted) in &self.grants {
            if held.contains(value) {
                patterns.extend(granted.iter().cloned());
            }
        }
        if patterns.is_empty() {
            return Err(Rejection::InsufficientScope);
        }
        let scope = Scope::new(None, Some(&patterns)).map_err(|e| Rejection::Invalid(e.to_string()))?;
        Ok(Caller::scoped(id, Arc::new(scope)))
    }

    /// Asks `endpoint` about an opaque token (RFC 7662), or answers from what it said lately.
    /// At most [`MAX_INTROSPECTING`] requests are in flight; an endpoint that failed is not
    /// asked again within [`OAuthConfig::jwks_min_refresh`].
    async fn introspect(&self, endpoint: &Introspection, token: &str) -> std::result::Result<Caller, Rejection> {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some(answer) = self.remembered(&digest).await {
            return answer;
        }
        let _slot = self.introspecting.acquire().await.map_err(|_| Rejection::Unavailable("closing".into()))?;
        // Another request may have asked about the same token while this one waited.
        if let Some(answer) = self.remembered(&digest).await {
            return answer;
        }
        if let Some((at, why)) = self.introspection_failed.lock().await.as_ref()
            && at.elapsed() < self.config.jwks_min_refresh
        {
            return Err(Rejection::Unavailable(why.clone()));
        }
        let answer = match self.ask(endpoint, token).await {
            Ok(answer) => answer,
            Err(why) => {
                *self.introspection_failed.lock().await = Some((Instant::now(), why.clone()));
                return Err(Rejection::Unavailable(why));
            }
        };
        let now = chrono::Utc::now().timestamp();
        let checked = self
            .introspected_caller(&answer, now)
            .map(|c| c.with_subject_token(toolkit_core::SecretString::new(token)));
        match &checked {
            Ok(caller) => {
                let left = answer.get("exp").and_then(Value::as_i64).map_or(60, |exp| exp.saturating_sub(now));
                let keep = Duration::from_secs(u64::try_from(left).unwrap_or(0).min(60));
                let mut accepted = self.accepted.lock().await;
                if accepted.len() >= MAX_ACCEPTED {
                    let now = Instant::now();
                    accepted.retain(|_, (_, until)| *until > now);
                }
                // Full of live answers: this one is asked again next time.
                if accepted.len() < MAX_ACCEPTED {
                    accepted.insert(digest, (caller.clone(), Instant::now() + keep));
                }
            }
            Err(rejection) => {
                let mut refused = self.refused.lock().await;
                if refused.len() >= MAX_REFUSED {
                    refused.clear();
                }
                refused.insert(digest, (rejection.clone(), Instant::now() + Duration::from_secs(10)));
            }
        }
        checked
    }

    /// What was said lately about the token of `digest`, if it still holds.
    async fn remembered(&self, digest: &[u8; 32]) -> Option<std::result::Result<Caller, Rejection>> {
        let now = Instant::now();
        if let Some((caller, until)) = self.accepted.lock().await.get(digest)
            && now < *until
        {
            return Some(Ok(caller.clone()));
        }
        if let Some((rejection, until)) = self.refused.lock().await.get(digest)
            && now < *until
        {
            return Some(Err(rejection.clone()));
        }
        None
    }

    /// One introspection request; the error says why it got no answer.
    async fn ask(&self, endpoint: &Introspection, token: &str) -> std::result::Result<Value, String> {
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let mut request = self.http.post(&endpoint.url);
        match &endpoint.client_secret {
            Some(secret) => request = request.basic_auth(&endpoint.client_id, Some(secret.expose())),
            None => form.push(("client_id", endpoint.client_id.as_str())),
        }
        let failed = |e: &dyn std::fmt::Display| format!("POST {}: {e}", endpoint.url);
        let response = request.form(&form).send().await.map_err(|e| failed(&e))?;
        if !response.status().is_success() {
            return Err(failed(&response.status()));
        }
        read_json(response).await.map_err(|e| failed(&e))
    }

    /// The caller of an introspection answer: active, of an accepted issuer, for this audience,
    /// unexpired, with a subject.
    fn introspected_caller(&self, answer: &Value, now: i64) -> std::result::Result<Caller, Rejection> {
        let invalid = |why: &str| Err(Rejection::Invalid(why.to_owned()));
        if answer.get("active") != Some(&Value::Bool(true)) {
            return invalid("inactive");
        }
        if let Some(iss) = answer.get("iss").and_then(Value::as_str)
            && !self.config.issuers.iter().any(|i| i == iss)
        {
            return invalid("the issuer is not accepted");
        }
        let audience = self.config.audience.as_deref().unwrap_or(&self.config.resource);
        let audiences = match answer.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        if !audiences.iter().any(|a| a == audience) {
            return invalid("the token is for another audience");
        }
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(0);
        if answer.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp.saturating_add(leeway) < now) {
            return invalid("expired");
        }
        if answer.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf.saturating_sub(leeway) > now) {
            return invalid("not yet valid");
        }
        let claims: Claims =
            serde_json::from_value(answer.clone()).map_err(|e| Rejection::Invalid(format!("answer: {e}")))?;
        let issuer =
            answer.get("iss").and_then(Value::as_str).or_else(|| self.config.issuers.first().map(String::as_str));
        self.caller(claims, issuer)
    }

    /// The key `kid` of `issuer` (the only key, when the token names none), fetching the JWKS
    /// when it is not held and the last attempt is old enough: a flood of tokens naming unknown
    /// keys, or an issuer that is down, costs the issuer one request per
    /// [`OAuthConfig::jwks_min_refresh`].
    async fn key(&self, issuer: &str, kid: Option<&str>) -> std::result::Result<Jwk, Rejection> {
        // Keys for encryption are not signing keys.
        let pick = |set: &JwkSet| {
            let signing =
                |k: &&Jwk| !matches!(k.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption));
            let mut keys = set.keys.iter().filter(signing);
            match kid {
                Some(kid) => keys.find(|k| k.common.key_id.as_deref() == Some(kid)).cloned(),
                None => match (keys.next(), keys.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                },
            }
        };
        let unknown = || Rejection::Invalid("the token names a key the issuer does not publish".into());
        // The key when held; a refusal when the last attempt is too recent to try again.
        let held = |keys: &HashMap<String, Keys>| -> Option<std::result::Result<Jwk, Rejection>> {
            let held = keys.get(issuer)?;
            if let Some(jwk) = pick(&held.set) {
                return Some(Ok(jwk));
            }
            if held.fetched.elapsed() >= self.config.jwks_min_refresh {
                return None;
            }
            Some(Err(match &held.failed {
                Some(why) => Rejection::Unavailable(why.clone()),
                None => unknown(),
            }))
        };
        if let Some(answer) = held(&*self.keys.read().await) {
            return answer;
        }
        let Some(lock) = self.fetching.get(issuer) else {
            return Err(Rejection::Invalid("the issuer is not accepted".into()));
        };
        let _one = lock.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(answer) = held(&*self.keys.read().await) {
            return answer;
        }
        let fetched = self.fetch_jwks(issuer).await;
        let mut keys = self.keys.write().await;
        match fetched {
            Ok(set) => {
                let found = pick(&set);
                keys.insert(issuer.to_owned(), Keys { set, fetched: Instant::now(), failed: None });
                found.ok_or_else(unknown)
            }
            Err(e) => {
                // Keep the keys held, but wait before asking again.
                let why = match &e {
                    Rejection::Unavailable(why) | Rejection::Invalid(why) => why.clone(),
                    Rejection::InsufficientScope => String::new(),
                };
                let entry = keys.entry(issuer.to_owned()).or_insert_with(|| Keys {
                    set: JwkSet { keys: Vec::new() },
                    fetched: Instant::now(),
                    failed: None,
                });
                entry.fetched = Instant::now();
                entry.failed = Some(why);
                Err(e)
            }
        }
    }

    async fn fetch_jwks(&self, issuer: &str) -> std::result::Result<JwkSet, Rejection> {
        let uri = self.jwks_uri(issuer).await?;
        let set: JwkSet = self.get_json(&uri).await?;
        Ok(set)
    }

    /// The issuer's `jwks_uri`, from its metadata.
    async fn jwks_uri(&self, issuer: &str) -> std::result::Result<String, Rejection> {
        let meta = self.server_metadata(issuer).await?;
        let uri =
            meta.jwks_uri.ok_or_else(|| Rejection::Unavailable(format!("{issuer}'s metadata names no jwks_uri")))?;
        secure_url("jwks_uri", &uri).map_err(|e| Rejection::Unavailable(format!("{issuer}: {}", e.message())))?;
        Ok(uri)
    }

    /// The issuers access tokens are accepted from.
    pub fn issuers(&self) -> &[String] {
        &self.config.issuers
    }

    /// Where a person signs in at `issuer`: its authorization and token endpoints (https off
    /// loopback, as the issuer itself).
    pub async fn login_endpoints(&self, issuer: &str) -> std::result::Result<LoginEndpoints, Rejection> {
        let meta = self.server_metadata(issuer).await?;
        let endpoint = |name: &str, value: Option<String>| {
            let text = value.ok_or_else(|| Rejection::Unavailable(format!("{issuer}'s metadata names no {name}")))?;
            secure_url(name, &text).map_err(|e| Rejection::Unavailable(format!("{issuer}: {}", e.message())))
        };
        Ok(LoginEndpoints {
            authorization: endpoint("authorization_endpoint", meta.authorization_endpoint)?,
            token: endpoint("token_endpoint", meta.token_endpoint)?,
        })
    }

    /// Redeems an authorization code (`form`: grant type, code, verifier, redirect URI, client)
    /// at `token_endpoint`, with HTTP Basic client credentials when given; the access token.
    pub async fn redeem_code(
        &self,
        token_endpoint: &url::Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &SecretString)>,
    ) -> std::result::Result<SecretString, String> {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut request = self
            .http
            .post(token_endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret.expose()));
        }
        let response = request.send().await.map_err(|e| format!("reach the token endpoint: {}", e.without_url()))?;
        let status = response.status();
        let answer = read_json(response).await?;
        if !status.is_success() {
            let code = answer.get("error").and_then(Value::as_str).unwrap_or("no error code");
            return Err(format!(
                "the token endpoint answered {status} ({})",
                code.chars().take(64).collect::<String>()
            ));
        }
        answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(SecretString::new)
            .ok_or_else(|| "the token endpoint's answer has no access_token".to_owned())
    }

    /// The issuer's metadata: RFC 8414, else OpenID discovery; it must name the same issuer.
    async fn server_metadata(&self, issuer: &str) -> std::result::Result<ServerMetadata, Rejection> {
        if let Some(meta) = self.metadata_of.lock().await.get(issuer) {
            return Ok(meta.clone());
        }
        let base = issuer.trim_end_matches('/');
        let mut last = None;
        for url in
            [well_known(issuer, "oauth-authorization-server"), format!("{base}/.well-known/openid-configuration")]
        {
            match self.get_json::<ServerMetadata>(&url).await {
                Ok(meta) => {
                    if meta.issuer.as_deref().is_some_and(|i| i.trim_end_matches('/') != base) {
                        return Err(Rejection::Unavailable(format!("{url} names another issuer")));
                    }
                    if meta.jwks_uri.is_some() {
                        self.metadata_of.lock().await.insert(issuer.to_owned(), meta.clone());
                        return Ok(meta);
                    }
                    last = Some(Rejection::Unavailable(format!("{url} names no jwks_uri")));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Rejection::Unavailable("no metadata".into())))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> std::result::Result<T, Rejection> {
        let unavailable = |e: &dyn std::fmt::Display| Rejection::Unavailable(format!("GET {url}: {e}"));
        let response = self.http.get(url).send().await.map_err(|e| unavailable(&e))?;
        if !response.status().is_success() {
            return Err(unavailable(&response.status()));
        }
        let value = read_json(response).await.map_err(|e| unavailable(&e))?;
        serde_json::from_value(value).map_err(|e| unavailable(&e))
    }
}

/// Bytes of an issuer's answer (metadata, keys, introspection) read at most.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A JSON answer, read up to [`MAX_ANSWER_BYTES`].
async fn read_json(mut response: reqwest::Response) -> std::result::Result<Value, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"))
}

/// The well-known URL of RFC 8414 and RFC 9728: `/.well-known/SUFFIX` inserted before the
/// path of `base` (an issuer, or a resource).
fn well_known(base: &str, suffix: &str) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            let path = url.path().trim_end_matches('/').to_owned();
            url.set_path(&format!("/.well-known/{suffix}{path}"));
            url.to_string()
        }
        Err(_) => format!("{}/.well-known/{suffix}", base.trim_end_matches('/')),
    }
}

/// A token's payload, read before its signature is checked (to pick the keys and refuse
/// malformed claims).
/// When a JWT access token expires (`exp`), read without checking it: for a token
/// [`Verifier::verify`] has accepted.
pub(crate) fn expiry(token: &str) -> Option<std::time::SystemTime> {
    let exp = unverified_payload(token)?.get("exp")?.as_u64()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(exp))
}

fn unverified_payload(token: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// An http(s) URL, https unless its host is this machine (a loopback address or `localhost`):
/// keys, discovery and introspection answers must not be open to whoever sits on the path.
fn secure_url(flag: &str, text: &str) -> Result<url::Url> {
    let url = url::Url::parse(text).map_err(|e| Error::config(format!("{flag}: `{text}` is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_local(&url) => Ok(url),
        "http" => Err(Error::config(format!("{flag}: `{text}` must use https (http is allowed on this machine only)"))),
        _ => Err(Error::config(format!("{flag}: `{text}` is not an http(s) URL"))),
    }
}

fn is_local(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A scope value as RFC 6749 allows it (printable ASCII but space, `"` and `\`), so that it can
/// be matched and quoted in a challenge.
fn check_scope(flag: &str, scope: &str) -> Result<()> {
    let ok = !scope.is_empty()
        && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "{flag}: `{scope}` is not a scope value (printable ASCII without spaces, `\"` or `\\`)"
        )))
    }
}

/// A claim's values: a space-separated string or an array of strings.
fn values(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_insert_the_resource_path() {
        let v = Verifier::new(OAuthConfig::new(vec!["https://id.example.com".into()], "https://gw.example.com/mcp"))
            .unwrap();
        assert_eq!(v.metadata_url(), "https://gw.example.com/.well-known/oauth-protected-resource/mcp");
        assert_eq!(v.metadata()["authorization_servers"], json!(["https://id.example.com"]));
        assert_eq!(
            well_known("https://id.example.com/tenant/1", "oauth-authorization-server"),
            "https://id.example.com/.well-known/oauth-authorization-server/tenant/1"
        );
    }

    #[test]
    fn settings_are_checked() {
        let bad = |issuers: Vec<&str>, resource: &str| {
            Verifier::new(OAuthConfig::new(issuers.into_iter().map(str::to_owned).collect(), resource))
                .unwrap_err()
                .to_string()
        };
        assert!(bad(vec![], "https://gw/mcp").contains("--oauth-issuer"));
        assert!(bad(vec!["ftp://x"], "https://gw/mcp").contains("--oauth-issuer"));
        assert!(bad(vec!["https://id"], "api://toolkit").contains("--oauth-resource"));
        assert_eq!(OAuthConfig::parse_grant("data=prod/*, staging/a").unwrap().1, ["prod/*", "staging/a"]);
        assert!(OAuthConfig::parse_grant("data").is_err());
        assert!(OAuthConfig::parse_grant("data=").is_err());
    }

    #[tokio::test]
    async fn unsigned_and_hmac_tokens_are_refused_before_any_key_is_fetched() {
        let v =
            Verifier::new(OAuthConfig::new(vec!["http://127.0.0.1:9".into()], "http://127.0.0.1:8787/mcp")).unwrap();
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let payload = b64(
            &json!({"iss": "http://127.0.0.1:9", "sub": "a", "aud": "http://127.0.0.1:8787/mcp", "exp": 4_000_000_000u64}),
        );
        for alg in ["none", "HS256"] {
            let token = format!("{}.{payload}.{}", b64(&json!({"alg": alg, "typ": "JWT"})), "c2ln");
            assert!(matches!(v.verify(&token).await, Err(Rejection::Invalid(_))), "{alg}");
        }
        assert!(matches!(v.verify("opaque-token").await, Err(Rejection::Invalid(_))));
        // A signed token of an issuer that cannot be reached: unavailable, and not asked again
        // at once.
        let token = format!("{}.{payload}.c2ln", b64(&json!({"alg": "RS256", "kid": "k"})));
        for _ in 0..2 {
            assert!(matches!(v.verify(&token).await, Err(Rejection::Unavailable(_))));
        }
    }

    #[test]
    fn caller_ids_never_meet_and_urls_are_safe() {
        let one = Verifier::new(OAuthConfig::new(vec!["https://id.example.com".into()], "https://gw/mcp")).unwrap();
        assert_eq!(one.caller_id(Some("https://id.example.com"), "alice", Some("agent")), "oidc:alice@agent");
        assert_ne!(one.caller_id(None, "a@b", None), one.caller_id(None, "a", Some("b")));
        assert_eq!(one.caller_id(None, "a\u{1b}[31m/b", None), "oidc:a[31m%2Fb");
        let two = Verifier::new(OAuthConfig::new(
            vec!["https://id.example.com/realms/a".into(), "https://other.example.com".into()],
            "https://gw/mcp",
        ))
        .unwrap();
        assert_eq!(
            two.caller_id(Some("https://id.example.com/realms/a"), "alice", None),
            "oidc:id.example.com/realms/a/alice"
        );
        assert_ne!(
            two.caller_id(Some("https://id.example.com/realms/a"), "alice", None),
            two.caller_id(Some("https://other.example.com"), "alice", None)
        );
        assert!(secure_url("--oauth-issuer", "http://id.example.com").is_err());
        assert!(secure_url("--oauth-issuer", "http://127.0.0.1:8080").is_ok());
        assert!(secure_url("--oauth-issuer", "http://localhost:8080").is_ok());
        assert!(secure_url("--oauth-issuer", "http://[::1]:8080").is_ok());
        for bad in ["", "a b", "a\"b", "a\\b", "é"] {
            assert!(check_scope("--oauth-scope", bad).is_err(), "{bad:?}");
        }
        assert!(check_scope("--oauth-scope", "mcp:tools/read").is_ok());
        let mut config = OAuthConfig::new(vec!["https://id".into()], "https://gw/prefix/mcp");
        config.required_scopes = vec!["x\"y".into()];
        assert!(Verifier::new(config).is_err());
        let prefixed = Verifier::new(OAuthConfig::new(vec!["https://id".into()], "https://gw/prefix/mcp")).unwrap();
        assert_eq!(prefixed.metadata_path(), "/.well-known/oauth-protected-resource/prefix/mcp");
    }

    #[test]
    fn claim_values_are_strings_or_arrays() {
        assert_eq!(values(Some(&json!("a b  c"))), ["a", "b", "c"]);
        assert_eq!(values(Some(&json!(["a", 1, "b"]))), ["a", "b"]);
        assert!(values(None).is_empty());
    }
}
