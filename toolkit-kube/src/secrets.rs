//! Credentials from the cluster: a [`SecretResolver`] that reads the Secret a tool names from
//! the API server when the value is needed, and the ConfigMaps a tool names.
//!
//! Values are held as [`SecretString`]s only: they never reach a log line, an error, a status
//! or an Event. Errors name the Secret and the key. A tool may only read Secrets of its own
//! namespace: the operator can read Secrets everywhere, the author of a Tool may not.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::{Reference, SecretKeySelector};
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

/// Resolves `secretKeyRef`s by reading Secrets from the API server, and remembers what it
/// handed out so that outputs can be redacted. Clones share what was resolved.
#[derive(Clone)]
pub struct KubeSecrets {
    client: Client,
    resolved: Arc<Mutex<Vec<SecretString>>>,
}

impl std::fmt::Debug for KubeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSecrets").finish_non_exhaustive()
    }
}

impl KubeSecrets {
    /// A resolver with nothing resolved yet.
    pub fn new(client: Client) -> Self {
        Self { client, resolved: Arc::default() }
    }

    fn remember(&self, value: &SecretString) {
        if let Ok(mut held) = self.resolved.lock()
            && !held.contains(value)
        {
            held.push(value.clone());
        }
    }
}

#[async_trait]
impl SecretResolver for KubeSecrets {
    async fn resolve(&self, namespace: &str, selector: &SecretKeySelector) -> Result<SecretString> {
        if let Some(other) = selector.namespace.as_deref().filter(|ns| *ns != namespace) {
            return Err(Error::new(
                ErrorKind::Denied,
                format!(
                    "secret {other}/{} is in another namespace; a tool reads Secrets of its own namespace only",
                    selector.name
                ),
            ));
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret =
            api.get_opt(&selector.name).await.map_err(|e| api_error(e, "secret", namespace, &selector.name))?;
        let secret =
            secret.ok_or_else(|| Error::not_found(format!("secret {namespace}/{} does not exist", selector.name)))?;
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&selector.key))
            .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
            .or_else(|| secret.string_data.as_ref().and_then(|d| d.get(&selector.key)).cloned())
            .ok_or_else(|| {
                let keys: Vec<&str> = secret.data.iter().flat_map(|d| d.keys().map(String::as_str)).collect();
                Error::not_found(format!("secret {namespace}/{} has no key `{}`", selector.name, selector.key))
                    .with_context("keys", keys.join(", "))
            })?;
        let value = SecretString::new(value);
        self.remember(&value);
        Ok(value)
    }

    fn known_values(&self, _namespace: &str) -> Vec<SecretString> {
        self.resolved.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// A reference that did not resolve: why, under the field that names it, and the condition
/// reason.
#[derive(Debug)]
pub struct Unresolved {
    /// A CamelCase reason for the condition.
    pub reason: &'static str,
    /// One line naming the object and key.
    pub message: String,
    /// Whether the API server failed (worth a retry with backoff), rather than the object or
    /// key being absent.
    pub api_failure: bool,
}

impl Unresolved {
    /// An object or key that is absent or wrong: fixing the cluster fixes it.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into(), api_failure: false }
    }

    /// The API server failed while reading what the field `at` names: worth a retry.
    pub(crate) fn api(at: &str, e: &Error) -> Self {
        Self {
            reason: "ApiError",
            message: format!("{at}: {}", toolkit_core::error::one_line(e.message())),
            api_failure: true,
        }
    }
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Resolves every reference of a tool in `namespace`: each Secret key through `secrets` (which
/// then holds the values for the tool's build and probe), each ConfigMap key read into the
/// returned [`ConfigMaps`]. Stops at the first that does not resolve.
pub async fn resolve_all(
    client: &Client,
    secrets: &KubeSecrets,
    namespace: &str,
    references: &[Reference],
) -> std::result::Result<ConfigMaps, Unresolved> {
    let mut maps = ConfigMaps::default();
    let mut read: BTreeSet<&str> = BTreeSet::new();
    for reference in references {
        match reference {
            Reference::Secret { path, selector } => {
                if let Err(e) = secrets.resolve(namespace, selector).await {
                    return Err(unresolved(path, &e, "Secret"));
                }
            }
            Reference::ConfigMap { path, selector } => {
                if read.insert(&selector.name) {
                    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
                    let found = api.get_opt(&selector.name).await.map_err(|e| {
                        unresolved(path, &api_error(e, "configmap", namespace, &selector.name), "ConfigMap")
                    })?;
                    let Some(map) = found else {
                        let e = Error::not_found(format!("configmap {namespace}/{} does not exist", selector.name));
                        return Err(unresolved(path, &e, "ConfigMap"));
                    };
                    maps.insert(namespace, &selector.name, map.data.unwrap_or_default().into_iter().collect());
                }
                if let Err(e) = maps.get(namespace, &selector.name, &selector.key) {
                    return Err(unresolved(path, &e, "ConfigMap"));
                }
            }
        }
    }
    Ok(maps)
}

fn unresolved(path: &str, e: &Error, what: &str) -> Unresolved {
    let absent = e.kind() == ErrorKind::NotFound;
    let reason = match e.kind() {
        ErrorKind::NotFound if e.message().contains("has no key") => "KeyNotFound",
        ErrorKind::NotFound if what == "Secret" => "SecretNotFound",
        ErrorKind::NotFound => "ConfigMapNotFound",
        ErrorKind::Denied => "CrossNamespaceReference",
        _ => "ApiError",
    };
    Unresolved {
        reason,
        message: format!("{path}: {}", toolkit_core::error::one_line(e.message())),
        api_failure: !absent && reason == "ApiError",
    }
}

/// An API failure reading `kind` `namespace/name`, as one line naming the object (a Secret's
/// data is never part of an API error).
pub(crate) fn api_error(e: kube::Error, kind: &str, namespace: &str, name: &str) -> Error {
    let kind_of = match &e {
        kube::Error::Api(s) if s.code == 403 => ErrorKind::Denied,
        _ => ErrorKind::Unreachable,
    };
    Error::new(kind_of, format!("read {kind} {namespace}/{name}: {}", toolkit_core::error::one_line(&e.to_string())))
}
