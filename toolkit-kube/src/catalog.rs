//! A [`Catalog`] read from a Kubernetes API instead of a folder: the Tools, ToolRegistries and
//! ApprovalPolicies of one namespace or all, with the ConfigMaps they name and their in-cluster
//! references resolved, validated as `toolkit validate` validates files. Secrets are not read
//! here: a [`KubeSecrets`] reads each when a call needs it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListParams;
use kube::core::{ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt as _, metadata_watcher, watcher};
use kube::{Api, Client, ResourceExt as _};
use serde_json::Value;
use toolkit_core::model::{ApprovalPolicy, Reference, Tool, ToolRegistry, ToolRegistrySpec};
use toolkit_core::validate::{Diagnostic, FieldError};
use toolkit_core::{Catalog, ConnectorRegistry, Error, ErrorKind, Result, ToolRef, manifest};

use crate::references::{has_cluster_references, resolve_references};
use crate::secrets::KubeSecrets;

/// The `ApiResource` of `Tool`.
pub fn tool_resource() -> ApiResource {
    ApiResource::erase::<Tool>(&())
}

/// The `ApiResource` of `ToolRegistry`.
pub fn registry_resource() -> ApiResource {
    ApiResource::erase::<ToolRegistry>(&())
}

/// The `ApiResource` of `ApprovalPolicy`.
pub fn policy_resource() -> ApiResource {
    ApiResource::erase::<ApprovalPolicy>(&())
}

/// Connects to the API server the way kubectl does: `KUBECONFIG`, `~/.kube/config`, or the
/// pod's service account.
pub async fn connect() -> Result<Client> {
    Client::try_default().await.map_err(|e| {
        Error::config("connect to the Kubernetes API (KUBECONFIG, ~/.kube/config or the pod's service account)")
            .with_source(e)
    })
}

/// Where a cluster's catalog is read: the API server, in one namespace or all.
#[derive(Clone)]
pub struct ClusterSource {
    client: Client,
    namespace: Option<String>,
    secrets: KubeSecrets,
}

impl std::fmt::Debug for ClusterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSource").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

/// A stream that yields once per change of what a [`ClusterSource`] reads.
pub type Changes = Pin<Box<dyn Stream<Item = ()> + Send>>;

impl ClusterSource {
    /// Reads through `client`, in `namespace` (every namespace when `None`).
    pub fn new(client: Client, namespace: Option<String>) -> Self {
        Self { secrets: KubeSecrets::new(client.clone()), client, namespace }
    }

    /// The API client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The namespace read, or `None` for all.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The resolver that reads the Secrets tools name, shared by every catalog of this source
    /// (what it read is redacted from every output).
    pub fn secrets(&self) -> &KubeSecrets {
        &self.secrets
    }

    fn api(&self, resource: &ApiResource) -> Api<DynamicObject> {
        match &self.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, resource),
            None => Api::all_with(self.client.clone(), resource),
        }
    }

    async fn list(&self, resource: &ApiResource) -> Result<Vec<DynamicObject>> {
        let plural = format!("{}.{}", resource.plural, resource.group);
        let listed = self.api(resource).list(&ListParams::default()).await.map_err(|e| {
            let (kind, hint) = match &e {
                kube::Error::Api(s) if s.code == 404 => (
                    ErrorKind::NotFound,
                    "install the CRDs: `toolkit-operator manifests | kubectl apply --server-side -f -`",
                ),
                kube::Error::Api(s) if s.code == 403 => {
                    (ErrorKind::Denied, "grant this identity get, list and watch on toolkit.dev resources")
                }
                _ => (ErrorKind::Unreachable, "check that the API server is reachable (kubectl get tools)"),
            };
            Error::new(kind, format!("list {plural}{}", self.scope()))
                .with_context("cause", toolkit_core::error::one_line(&e.to_string()))
                .with_context("hint", hint)
        })?;
        Ok(listed.items)
    }

    fn scope(&self) -> String {
        self.namespace.as_ref().map(|ns| format!(" in namespace {ns}")).unwrap_or_default()
    }

    /// Reads and validates the catalog: every Tool (with its cluster references resolved),
    /// ToolRegistry and ApprovalPolicy, and the ConfigMaps they name.
    pub async fn load(&self, connectors: &ConnectorRegistry) -> Result<Catalog> {
        let mut catalog = Catalog::for_cluster(connectors.formats().to_vec());
        let mut unresolved = Vec::new();
        for obj in self.list(&tool_resource()).await? {
            let reference = object_ref(&obj);
            let source = object_source("tools", &reference);
            let mut value = document(&obj);
            if has_cluster_references(&value)
                && let Err(u) = resolve_references(&self.client, &reference.namespace, &mut value).await
            {
                unresolved.push((reference, source.clone(), u));
            }
            catalog.add_value(&source, yaml(value)?);
        }
        for obj in self.list(&registry_resource()).await? {
            catalog.add_value(&object_source("toolregistries", &object_ref(&obj)), yaml(document(&obj))?);
        }
        for obj in self.list(&policy_resource()).await? {
            catalog.add_value(&object_source("approvalpolicies", &object_ref(&obj)), yaml(document(&obj))?);
        }
        self.read_config_maps(&mut catalog, connectors).await?;
        // An unresolved reference is the tool's first problem; validation adds its own after.
        for (reference, source, u) in unresolved {
            if let Some(loaded) = catalog.tools.get_mut(&reference) {
                let (field, message) = split_field(&u.message);
                loaded.problems.push(Diagnostic::error(
                    &source,
                    Some(format!("tool {reference}")),
                    FieldError::new(field, message),
                ));
            }
        }
        catalog.validate(connectors);
        Ok(catalog)
    }

    /// Reads each ConfigMap a tool or a registry upstream names into the catalog; one that is
    /// absent is left out, and validation names the field.
    async fn read_config_maps(&self, catalog: &mut Catalog, connectors: &ConnectorRegistry) -> Result<()> {
        let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
        let mut add = |namespace: &str, references: Vec<Reference>| {
            for r in references {
                if let Reference::ConfigMap { selector, .. } = r {
                    wanted.insert((namespace.to_owned(), selector.name));
                }
            }
        };
        for (reference, loaded) in &catalog.tools {
            if let Some(tool) = &loaded.tool {
                add(&reference.namespace, manifest::references(&tool.spec, connectors));
            }
        }
        if let Some(importer) = connectors.importer() {
            for (reference, (registry, _)) in &catalog.registries {
                let spec: &ToolRegistrySpec = &registry.spec;
                for (i, up) in spec.upstreams.iter().enumerate() {
                    add(&reference.namespace, importer.references(up, &format!("spec.upstreams[{i}]")));
                }
            }
        }
        for (namespace, name) in wanted {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &namespace);
            let found = api.get_opt(&name).await.map_err(|e| {
                Error::new(ErrorKind::Unreachable, format!("read configmap {namespace}/{name}"))
                    .with_context("cause", toolkit_core::error::one_line(&e.to_string()))
            })?;
            if let Some(map) = found {
                catalog.config_maps.insert(&namespace, &name, map.data.unwrap_or_default().into_iter().collect());
            }
        }
        Ok(())
    }

    /// Yields whenever a Tool, ToolRegistry or ApprovalPolicy is applied or deleted, a
    /// ConfigMap changes, or a watch starts over (after the API server was away); never ends.
    /// Reload with [`load`](Self::load) after a quiet moment: changes come in bursts.
    pub fn changes(&self) -> Changes {
        let objects = |resource: ApiResource| {
            watcher(self.api(&resource), watcher::Config::default()).default_backoff().filter_map(|e| async move {
                match e {
                    Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone) => Some(()),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::debug!("watch: {e}");
                        None
                    }
                }
            })
        };
        let config_maps: Api<ConfigMap> = match &self.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        let config_maps =
            metadata_watcher(config_maps, watcher::Config::default()).default_backoff().filter_map(|e| async move {
                matches!(e, Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_))).then_some(())
            });
        Box::pin(futures::stream::select_all([
            objects(tool_resource()).boxed(),
            objects(registry_resource()).boxed(),
            objects(policy_resource()).boxed(),
            config_maps.boxed(),
        ]))
    }
}

/// The object as the manifest it was applied from: without status and server-side fields.
fn document(obj: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
        }
    }
    value
}

fn yaml(value: Value) -> Result<serde_yaml::Value> {
    serde_yaml::to_value(value).map_err(|e| Error::internal("convert an API object").with_source(e))
}

fn object_ref(obj: &DynamicObject) -> ToolRef {
    ToolRef::new(obj.namespace().unwrap_or_else(|| toolkit_core::model::DEFAULT_NAMESPACE.into()), obj.name_any())
}

/// How a cluster object is named where a file's path would be: `cluster:tools/NS/NAME`.
pub fn object_source(plural: &str, reference: &ToolRef) -> PathBuf {
    PathBuf::from(format!("cluster:{plural}/{}/{}", reference.namespace, reference.name))
}

/// `spec.x.y: message` into the field and the message.
fn split_field(line: &str) -> (String, String) {
    match line.split_once(": ") {
        Some((field, message)) if field.starts_with("spec.") && !field.contains(' ') => {
            (field.to_owned(), message.to_owned())
        }
        _ => (String::new(), line.to_owned()),
    }
}
