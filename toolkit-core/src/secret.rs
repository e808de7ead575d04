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

/// Replaces every occurrence of each secret value in `text` with [`REDACTED`].
///
/// Values shorter than four characters are skipped: replacing them would shred ordinary output
/// while protecting nothing.
pub fn redact_text(text: &str, secrets: &[SecretString]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        let v = s.expose();
        if v.chars().count() >= 4 && out.contains(v) {
            out = out.replace(v, REDACTED);
        }
    }
    out
}

/// Redacts every string (and key) inside a JSON value; returns whether anything was replaced.
pub fn redact_json(value: &mut serde_json::Value, secrets: &[SecretString]) -> bool {
    use serde_json::Value;
    if secrets.is_empty() {
        return false;
    }
    match value {
        Value::String(s) => {
            let r = redact_text(s, secrets);
            let changed = r != *s;
            *s = r;
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| redact_json(v, secrets) | c),
        Value::Object(map) => {
            let mut changed = false;
            let entries = std::mem::take(map);
            for (k, mut v) in entries {
                changed |= redact_json(&mut v, secrets);
                let k2 = redact_text(&k, secrets);
                changed |= k2 != k;
                map.insert(k2, v);
            }
            changed
        }
        _ => false,
    }
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
    fn redacts_nested_json() {
        let secrets = vec![SecretString::new("hunter22")];
        let mut v = serde_json::json!({"a": ["x hunter22 y"], "hunter22": 1});
        assert!(redact_json(&mut v, &secrets));
        assert!(!v.to_string().contains("hunter22"));
    }
}
