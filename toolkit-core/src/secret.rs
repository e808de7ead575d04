//! Secret values and where they come from.
//!
//! A [`SecretString`] never prints its value: `Debug` and `Display` show `[redacted]`, it has no
//! `Serialize`, and its memory is zeroed on drop. Code that needs the value calls
//! [`SecretString::expose`] at the point of use (building a connection, an `Authorization`
//! header), which makes every such place easy to find.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::SecretKeySelector;

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "[redacted]";

/// A secret value that never prints itself.
#[derive(Clone)]
pub struct SecretString(Arc<Zeroizing<String>>);

impl SecretString {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(value.into())))
    }

    /// The value itself; call only where it is handed to a driver or a request.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

/// Resolves `secretKeyRef`s at the moment a value is needed.
///
/// Local mode resolves from `kind: Secret` documents beside the manifests; a Kubernetes
/// deployment resolves from the API server. Errors name the secret and key, never a value.
#[async_trait]
pub trait SecretResolver: Send + Sync {
    /// The value of `key` in the Secret `name` of `namespace`.
    async fn resolve(&self, namespace: &str, selector: &SecretKeySelector) -> Result<SecretString>;

    /// Every value this resolver could hand out for `namespace`, used to redact outputs.
    fn known_values(&self, namespace: &str) -> Vec<SecretString>;
}

/// Secrets held in memory, loaded from `kind: Secret` documents.
#[derive(Default, Clone)]
pub struct SecretStore {
    secrets: BTreeMap<(String, String), BTreeMap<String, SecretString>>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(
                self.secrets
                    .iter()
                    .map(|((ns, name), keys)| format!("{ns}/{name}: {:?}", keys.keys().collect::<Vec<_>>())),
            )
            .finish()
    }
}

impl SecretStore {
    /// Adds (or replaces) a Secret.
    pub fn insert(&mut self, namespace: &str, name: &str, data: BTreeMap<String, SecretString>) {
        self.secrets.insert((namespace.to_owned(), name.to_owned()), data);
    }

    /// Whether the Secret exists.
    pub fn contains(&self, namespace: &str, name: &str) -> bool {
        self.secrets.contains_key(&(namespace.to_owned(), name.to_owned()))
    }

    /// Whether the Secret exists and has `key`.
    pub fn has_key(&self, namespace: &str, name: &str, key: &str) -> bool {
        self.secrets.get(&(namespace.to_owned(), name.to_owned())).is_some_and(|d| d.contains_key(key))
    }

    /// Looks a value up synchronously.
    pub fn get(&self, namespace: &str, selector: &SecretKeySelector) -> Result<SecretString> {
        let ns = selector.namespace.as_deref().unwrap_or(namespace);
        let data = self.secrets.get(&(ns.to_owned(), selector.name.clone())).ok_or_else(|| {
            Error::not_found(format!("secret {ns}/{} does not exist", selector.name))
                .with_context("hint", "add a `kind: Secret` document beside the tool manifests")
        })?;
        data.get(&selector.key).cloned().ok_or_else(|| {
            Error::not_found(format!("secret {ns}/{} has no key `{}`", selector.name, selector.key))
                .with_context("keys", data.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
        })
    }

    /// Number of Secrets held.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether no Secret is held.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

#[async_trait]
impl SecretResolver for SecretStore {
    async fn resolve(&self, namespace: &str, selector: &SecretKeySelector) -> Result<SecretString> {
        self.get(namespace, selector)
    }

    fn known_values(&self, _namespace: &str) -> Vec<SecretString> {
        // Redact across namespaces: a value is secret wherever it shows up.
        self.secrets.values().flat_map(|d| d.values().cloned()).collect()
    }
}

/// Values shorter than this are not redacted: replacing them would shred ordinary output while
/// protecting nothing.
const MIN_REDACTED_CHARS: usize = 4;

/// The forms a secret value may take in text: as it is, JSON-escaped (inside a JSON string) and
/// base64-encoded (standard and URL-safe alphabets, as in basic credentials or tokens).
fn forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut out = vec![value.to_owned()];
    let escaped = serde_json::to_string(value).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    if escaped != value {
        out.push(escaped.to_owned());
    }
    for engine in [&base64::engine::general_purpose::STANDARD, &base64::engine::general_purpose::URL_SAFE_NO_PAD] {
        // Where the value stands in the encoded data decides how its bytes fall into groups of
        // three: for each of the three ways, the whole groups encode to the same characters.
        for skip in 0..3 {
            let bytes = value.as_bytes().get(skip..).unwrap_or_default();
            let whole = bytes.len() / 3 * 3;
            if whole >= 6 {
                let encoded = engine.encode(&bytes[..whole]);
                if !out.contains(&encoded) {
                    out.push(encoded);
                }
            }
        }
    }
    out
}

/// Finds secret values in output and replaces them with [`REDACTED`], in every form a value
/// may take there (as it is, JSON-escaped, base64). Build one per piece of output and use it for
/// all of it: it compiles the forms of every value into one automaton.
///
/// Values shorter than four characters are skipped: replacing them would shred ordinary output
/// while protecting nothing.
pub struct Redactor {
    matcher: Option<aho_corasick::AhoCorasick>,
    values: Vec<SecretString>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").field("values", &self.values.len()).finish()
    }
}

impl Redactor {
    /// A redactor of `secrets`.
    pub fn new(secrets: &[SecretString]) -> Self {
        let mut values: Vec<SecretString> =
            secrets.iter().filter(|s| s.expose().chars().count() >= MIN_REDACTED_CHARS).cloned().collect();
        values.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        let mut patterns: Vec<String> = values.iter().flat_map(|s| forms(s.expose())).collect();
        patterns.sort();
        patterns.dedup();
        // Where several forms start at one place, the longest wins: a value that contains
        // another is replaced whole.
        let matcher = (!patterns.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(&patterns)
                    .ok()
            })
            .flatten();
        Self { matcher, values }
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        match &self.matcher {
            Some(ac) if ac.is_match(text) => ac.replace_all(text, &vec![REDACTED; ac.patterns_len()]),
            _ => text.to_owned(),
        }
    }

    /// [`Redactor::text`] for text that a limit cut at its end: a tail that is the beginning of
    /// a secret value (at least four characters of it) is redacted too, as the rest of the
    /// value was only cut off.
    pub fn cut_text(&self, text: &str) -> String {
        let mut out = self.text(text);
        for v in &self.values {
            if let Some(start) = cut_prefix_start(out.as_bytes(), v.expose()) {
                out.truncate(start);
                out.push_str(REDACTED);
            }
        }
        out
    }

    /// Raw bytes (a body not yet decoded) redacted the way [`Redactor::text`] redacts text;
    /// `cut` says a limit cut them at their end (see [`Redactor::cut_text`]).
    pub fn bytes(&self, bytes: &[u8], cut: bool) -> Vec<u8> {
        let mut out = match &self.matcher {
            Some(ac) if ac.is_match(bytes) => {
                ac.replace_all_bytes(bytes, &vec![REDACTED.as_bytes(); ac.patterns_len()])
            }
            _ => bytes.to_vec(),
        };
        if cut {
            for v in &self.values {
                if let Some(start) = cut_prefix_start(&out, v.expose()) {
                    out.truncate(start);
                    out.extend_from_slice(REDACTED.as_bytes());
                }
            }
        }
        out
    }

    /// Redacts every string (and key) inside a JSON value; returns whether anything was
    /// replaced.
    pub fn json(&self, value: &mut serde_json::Value) -> bool {
        self.json_with(value, false)
    }

    /// [`Redactor::json`] for a value a limit cut somewhere: each string is redacted as
    /// [`Redactor::cut_text`] does, since any of them may be the one that was cut.
    pub fn cut_json(&self, value: &mut serde_json::Value) -> bool {
        self.json_with(value, true)
    }

    fn json_with(&self, value: &mut serde_json::Value, cut: bool) -> bool {
        use serde_json::Value;
        let Some(ac) = &self.matcher else { return false };
        match value {
            Value::String(s) if cut => {
                let r = self.cut_text(s);
                let changed = r != *s;
                *s = r;
                changed
            }
            Value::String(s) if ac.is_match(s.as_str()) => {
                *s = self.text(s);
                true
            }
            Value::Array(items) => items.iter_mut().fold(false, |c, v| self.json_with(v, cut) | c),
            Value::Object(map) if map.keys().any(|k| ac.is_match(k.as_str())) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.json_with(&mut v, cut);
                    map.insert(self.text(&k), v);
                }
                true
            }
            Value::Object(map) => map.values_mut().fold(false, |c, v| self.json_with(v, cut) | c),
            _ => false,
        }
    }
}

/// Where a tail of `text` starts that is a prefix of `value` of at least four characters,
/// ending on a character boundary of `value`.
fn cut_prefix_start(text: &[u8], value: &str) -> Option<usize> {
    let min = value.char_indices().nth(MIN_REDACTED_CHARS).map_or(value.len(), |(i, _)| i);
    (min..value.len())
        .rev()
        .filter(|len| value.is_char_boundary(*len))
        .find(|len| text.ends_with(&value.as_bytes()[..*len]))
        .map(|len| text.len() - len)
}

/// Replaces every occurrence of each secret value in `text` (see [`Redactor`]).
pub fn redact_text(text: &str, secrets: &[SecretString]) -> String {
    Redactor::new(secrets).text(text)
}

/// Redacts every string (and key) inside a JSON value (see [`Redactor::json`]); returns whether
/// anything was replaced.
pub fn redact_json(value: &mut serde_json::Value, secrets: &[SecretString]) -> bool {
    Redactor::new(secrets).json(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = SecretString::new("hunter22");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
    }

    #[test]
    fn redacts_escaped_and_encoded_forms_and_cut_tails() {
        use base64::Engine as _;
        let secrets = vec![SecretString::new("pa\"ss-word-1234")];
        let escaped = serde_json::to_string("pa\"ss-word-1234").unwrap();
        assert!(!redact_text(&format!("body {escaped}"), &secrets).contains("ss-word"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"user:pa\"ss-word-1234");
        assert!(redact_text(&b64, &secrets).contains(REDACTED), "{b64}");
        assert_eq!(Redactor::new(&secrets).cut_text("error: token pa\"ss-wo"), format!("error: token {REDACTED}"));
        assert_eq!(Redactor::new(&secrets).cut_text("no secret here"), "no secret here");
        let bytes = Redactor::new(&secrets).bytes(b"\x00pa\"ss-word-1234\xffpa\"ss", true);
        assert!(!bytes.windows(4).any(|w| w == b"ss-w"), "{bytes:?}");
        assert!(bytes.ends_with(REDACTED.as_bytes()));
    }

    #[test]
    fn redacts_nested_json() {
        let secrets = vec![SecretString::new("hunter22")];
        let mut v = serde_json::json!({"a": ["x hunter22 y"], "hunter22": 1});
        assert!(redact_json(&mut v, &secrets));
        assert!(!v.to_string().contains("hunter22"));
    }
}
