//! API tokens: the tokens file (`--tokens FILE`), and who a bearer token makes a request.
//!
//! ```yaml
//! tokens:
//!   - name: ci-agent                 # the caller is `token:ci-agent`
//!     tokenSha256: 9f86d081...       # sha256 of the token, hex: the file holds no usable secret
//!     namespaces: [prod]             # optional: only tools of these namespaces
//!     tools: ["prod/analytics-*"]    # optional: only tools matching one of these
//!   - name: ops
//!     tokenRef: {name: gateway-tokens, key: ops}   # or the token itself, in a Secret beside the tools
//! ```
//!
//! A token grants the tools that match both `namespaces` and `tools` (globs; a list left out
//! matches everything). Presented tokens are hashed and compared in constant time with every
//! entry; only hashes are kept in memory. Neither a token nor its hash is ever logged.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use toolkit_core::model::{DEFAULT_NAMESPACE, SecretKeySelector};
use toolkit_core::secret::SecretStore;
use toolkit_core::{Error, Result};
use toolkit_runtime::{Caller, Scope};

/// Characters a token taken from a Secret must have at least.
const MIN_TOKEN_CHARS: usize = 16;

/// Characters of a token name at most.
const MAX_NAME_CHARS: usize = 63;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokensFile {
    tokens: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenEntry {
    name: String,
    #[serde(default)]
    token_sha256: Option<String>,
    #[serde(default)]
    token_ref: Option<SecretKeySelector>,
    #[serde(default)]
    namespaces: Option<Vec<String>>,
    #[serde(default)]
    tools: Option<Vec<String>>,
}

/// One identity of the tokens file.
pub struct Identity {
    name: String,
    digest: [u8; 32],
    caller: Caller,
}

impl Identity {
    /// An identity established elsewhere (an identity provider's access token); no token of the
    /// tokens file matches it.
    pub fn external(caller: Caller) -> Self {
        Self { name: caller.id.clone(), digest: [0; 32], caller }
    }

    /// `token:NAME`, with the identity's scope (none when it may see every tool).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Whether the identity may see every tool.
    pub fn is_unscoped(&self) -> bool {
        self.caller.scope.is_none()
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("name", &self.name).field("scope", &self.caller.scope).finish()
    }
}

/// The identities of a tokens file.
#[derive(Debug)]
pub struct Tokens {
    identities: Vec<Arc<Identity>>,
}

impl Tokens {
    /// Reads `path`; `tokenRef`s are looked up in `secrets` (the Secrets beside the manifests).
    /// Errors name the file and the entry, never a token.
    pub fn load(path: &Path, secrets: &SecretStore) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("read the tokens file {}", path.display()))
                .with_source(e)
                .with_context("hint", "pass --tokens FILE with a readable file")
        })?;
        Self::parse(&text, secrets).map_err(|e| {
            let message = format!("load the tokens file {}: {}", path.display(), e.message());
            let mut out = Error::config(message);
            for (k, v) in e.context() {
                out = out.with_context(k, v);
            }
            out
        })
    }

    /// The Secret keys the tokens file at `path` names (`tokenRef`s); empty when it cannot be
    /// read or parsed ([`load`](Self::load) then says why).
    pub fn references(path: &Path) -> Vec<SecretKeySelector> {
        let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
        let Ok(file) = serde_yaml::from_str::<TokensFile>(&text) else { return Vec::new() };
        file.tokens.into_iter().filter_map(|t| t.token_ref).collect()
    }

    fn parse(text: &str, secrets: &SecretStore) -> Result<Self> {
        let file: TokensFile =
            serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|e| {
                Error::config(format!("{}: {}", e.path(), e.inner())).with_context(
                    "hint",
                    "write `tokens:` with entries {name, tokenSha256 | tokenRef, namespaces, tools}",
                )
            })?;
        let mut names = HashSet::new();
        let mut digests = HashSet::new();
        let mut identities = Vec::with_capacity(file.tokens.len());
        for (i, entry) in file.tokens.into_iter().enumerate() {
            let at = |field: &str| format!("tokens[{i}].{field}");
            let valid_name = !entry.name.is_empty()
                && entry.name.len() <= MAX_NAME_CHARS
                && entry.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid_name {
                return Err(Error::config(format!(
                    "{}: `{}` is not a token name; use up to {MAX_NAME_CHARS} letters, digits, `-`, `_` or `.`",
                    at("name"),
                    entry.name.chars().take(MAX_NAME_CHARS).collect::<String>()
                )));
            }
            if !names.insert(entry.name.clone()) {
                return Err(Error::config(format!("{}: `{}` is named twice", at("name"), entry.name)));
            }
            let digest = match (&entry.token_sha256, &entry.token_ref) {
                (Some(hex), None) => parse_digest(hex).ok_or_else(|| {
                    Error::config(format!("{}: not 64 hex digits", at("tokenSha256")))
                        .with_context("hint", "write the output of `printf %s \"$TOKEN\" | sha256sum`")
                })?,
                (None, Some(selector)) => {
                    let token = secrets.get(DEFAULT_NAMESPACE, selector).map_err(|e| {
                        Error::config(format!("{}: {}", at("tokenRef"), e.message())).with_context(
                            "hint",
                            "add the Secret to a --tools folder (with --kubernetes, to the cluster)",
                        )
                    })?;
                    if token.expose().chars().count() < MIN_TOKEN_CHARS {
                        return Err(Error::config(format!(
                            "{}: the token is shorter than {MIN_TOKEN_CHARS} characters",
                            at("tokenRef")
                        ))
                        .with_context("hint", "use a long random token, such as `openssl rand -hex 32`"));
                    }
                    Sha256::digest(token.expose().as_bytes()).into()
                }
                _ => {
                    return Err(Error::config(format!(
                        "tokens[{i}] ({}): give exactly one of tokenSha256 and tokenRef",
                        entry.name
                    )));
                }
            };
            if !digests.insert(digest) {
                return Err(Error::config(format!("{}: the same token as an earlier entry", at("name")))
                    .with_context("hint", "give each identity a token of its own"));
            }
            let scope = if entry.namespaces.is_none() && entry.tools.is_none() {
                None
            } else {
                let scope = Scope::new(entry.namespaces.as_deref(), entry.tools.as_deref())
                    .map_err(|e| Error::config(format!("tokens[{i}].{}", e.message())))?;
                Some(Arc::new(scope))
            };
            let id = format!("token:{}", entry.name);
            let caller = match scope {
                Some(scope) => Caller::scoped(id, scope),
                None => Caller::new(id),
            };
            identities.push(Arc::new(Identity { name: entry.name, digest, caller }));
        }
        Ok(Self { identities })
    }

    /// The identity whose token is `presented`. Every entry is compared, in constant time.
    pub fn authenticate(&self, presented: &str) -> Option<&Arc<Identity>> {
        self.by_digest(&Sha256::digest(presented.as_bytes()).into())
    }

    /// The identity whose token hashes to `digest` (SHA-256), compared in constant time with
    /// every entry: the console checks its sessions against the tokens loaded now with it.
    pub(crate) fn by_digest(&self, digest: &[u8; 32]) -> Option<&Arc<Identity>> {
        let mut found = None;
        for identity in &self.identities {
            if bool::from(identity.digest.ct_eq(digest)) {
                found = Some(identity);
            }
        }
        found
    }

    /// What requests these tokens admit, and as whom: compared on reload to tell clients that
    /// their tool lists may have changed.
    pub(crate) fn fingerprint(&self) -> Vec<(&str, [u8; 32], String)> {
        self.identities.iter().map(|i| (i.name.as_str(), i.digest, format!("{:?}", i.caller.scope))).collect()
    }

    /// How many identities there are.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// Whether there are none (every request is refused).
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// The token of an `Authorization: Bearer TOKEN` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use toolkit_core::ToolRef;

    use super::*;

    fn sha(token: &str) -> String {
        Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn secrets() -> SecretStore {
        let mut store = SecretStore::default();
        let data = BTreeMap::from([
            ("ops".to_owned(), toolkit_core::SecretString::new("ops-token-0123456789")),
            ("short".to_owned(), toolkit_core::SecretString::new("tiny")),
        ]);
        store.insert("default", "gateway-tokens", data);
        store
    }

    #[test]
    fn hashes_and_secret_references() {
        let text = format!(
            "tokens:\n- name: ci\n  tokenSha256: {}\n  namespaces: [prod]\n- name: ops\n  tokenRef: {{name: gateway-tokens, key: ops}}\n",
            sha("ci-token-abcdefgh").to_uppercase()
        );
        let tokens = Tokens::parse(&text, &secrets()).unwrap();
        let ci = tokens.authenticate("ci-token-abcdefgh").unwrap();
        assert_eq!(ci.caller().id, "token:ci");
        assert!(ci.caller().may_call(&ToolRef::new("prod", "x")));
        assert!(!ci.caller().may_call(&ToolRef::new("default", "x")));
        let ops = tokens.authenticate("ops-token-0123456789").unwrap();
        assert!(ops.is_unscoped());
        assert!(tokens.authenticate("ci-token-abcdefg").is_none());
        assert!(tokens.authenticate("").is_none());
    }

    #[test]
    fn mistakes_are_named_without_values() {
        let cases = [
            ("tokens:\n- name: a\n", "exactly one"),
            ("tokens:\n- name: a\n  tokenSha256: abc\n", "tokens[0].tokenSha256"),
            ("tokens:\n- name: 'a b'\n  tokenSha256: abc\n", "tokens[0].name"),
            ("tokens:\n- name: a\n  tokenRef: {name: gateway-tokens, key: nope}\n", "no key `nope`"),
            ("tokens:\n- name: a\n  tokenRef: {name: gateway-tokens, key: short}\n", "shorter than 16"),
            ("tokens:\n- name: a\n  token: hunter2hunter2\n", "unknown field `token`"),
        ];
        let bad_pattern = format!("tokens:\n- name: a\n  tokenSha256: {}\n  tools: ['a/b/c']\n", sha("x"));
        for (text, expected) in cases.into_iter().chain([(bad_pattern.as_str(), "tokens[0].tools: `a/b/c`")]) {
            let err = Tokens::parse(text, &secrets()).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let twice = format!("tokens:\n- {{name: a, tokenSha256: {0}}}\n- {{name: b, tokenSha256: {0}}}\n", sha("x"));
        assert!(Tokens::parse(&twice, &secrets()).unwrap_err().to_string().contains("same token"));
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
