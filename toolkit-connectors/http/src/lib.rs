#![doc = include_str!("../README.md")]

mod auth;
mod breaker;
mod config;
mod invoke;
mod probe;
mod request;
mod response;
mod retry;
mod session;
mod spec;
mod template;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{Mutex, OnceCell};
use toolkit_core::connector::{BuildContext, Capabilities, Connector, Invoker, Probe, Session, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::Authentication;
use toolkit_core::secret::SecretResolver;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{ConnectorRegistry, Error, Reference, Result, SpecPart, ToolSpec, TypeInfo};

pub use config::{
    AuthConfig, BreakerPolicy, DEFAULT_API_KEY_HEADER, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_IDEMPOTENT_ATTEMPTS, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_OPEN_FOR, DEFAULT_TIMEOUT, HeaderSpec, HttpConfig, RetryPolicy, Source,
};
pub use spec::{HttpCircuitBreaker, HttpHeader, HttpRetry, HttpSettings, HttpSpec, Parameter};
pub use template::{BodyTemplate, FieldRef, UrlTemplate};

use breaker::Breaker;
use toolkit_core::secret::SecretString;
use toolkit_core::token::{IssuedToken, SubjectCache};

/// The `spec.type` this crate serves.
pub const TYPE: &str = "http";

/// Adds the http connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(HttpConnector);
}

/// The `http` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpConnector;

impl Connector for HttpConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "An HTTP API: one request, with credentials injected")
            .with(SpecPart::block::<HttpSpec>("http", true))
            .with(SpecPart::config::<HttpSettings>(false))
            .with(SpecPart::block::<Authentication>("authentication", false))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { probe: true, session: true, invoke: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        HttpConfig::check(spec)
    }

    fn references(&self, spec: &ToolSpec) -> Vec<Reference> {
        let blocks = config::Blocks::read(spec, &mut Vec::new());
        let mut out = blocks.http.map(|h| h.references()).unwrap_or_default();
        out.extend(blocks.authentication.map(|a| a.references("spec.authentication")).unwrap_or_default());
        out
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &std::path::Path) {
        toolkit_core::config::resolve_config_paths(spec, &["caFile"], dir);
    }

    fn default_input_schema(&self) -> Option<Value> {
        // Without a schema only placeholder-free URLs validate; any arguments become query
        // parameters or the JSON body.
        Some(json!({"type": "object", "additionalProperties": true}))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let spec = ctx.spec();
        let cfg = HttpConfig::from_spec(spec)
            .map_err(|errs| config_error(format_args!("build http tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(HttpTool {
            breaker: Arc::new(Breaker::new(cfg.breaker)),
            cfg: Arc::new(cfg),
            read_only: spec.read_only,
            namespace: ctx.namespace.clone(),
            secrets: ctx.secrets.clone(),
            config_maps: ctx.config_maps.clone(),
            client: Arc::new(OnceCell::new()),
            token: Arc::new(Mutex::new(None)),
            exchanged: Arc::new(SubjectCache::new(auth::MAX_EXCHANGED)),
        }))
    }
}

/// One http tool: its parsed request, its pooled client and its cached token. Clones share all
/// of them, so a session can own one.
#[derive(Clone)]
pub(crate) struct HttpTool {
    cfg: Arc<HttpConfig>,
    read_only: bool,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    config_maps: Arc<ConfigMaps>,
    client: Arc<OnceCell<reqwest::Client>>,
    token: Arc<Mutex<Option<IssuedToken>>>,
    /// Exchanged tokens by the SHA-256 of the caller's token.
    exchanged: Arc<SubjectCache<SecretString>>,
    breaker: Arc<Breaker>,
}

impl fmt::Debug for HttpTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTool")
            .field("method", &self.cfg.method)
            .field("origin", &self.cfg.origin.as_ref().map(url::Url::as_str))
            .finish_non_exhaustive()
    }
}

impl HttpTool {
    /// What to redact from answers: the secrets this call used, and every value the resolver
    /// could hand out.
    pub(crate) fn redacted(&self, seen: &[toolkit_core::SecretString]) -> toolkit_core::secret::Redactor {
        let mut all = seen.to_vec();
        all.extend(self.secrets.known_values(&self.namespace));
        toolkit_core::secret::Redactor::new(&all)
    }

    /// The pooled client, made on first use (reading `caFile` then).
    pub(crate) async fn client(&self) -> Result<&reqwest::Client> {
        self.client
            .get_or_try_init(|| async {
                let mut builder = reqwest::Client::builder()
                    .timeout(self.cfg.timeout)
                    .connect_timeout(self.cfg.connect_timeout)
                    // Redirects are followed by the tool itself, which knows its credentials.
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(path) = &self.cfg.ca_file {
                    let pem = tokio::fs::read(path)
                        .await
                        .map_err(|e| Error::config(format!("read the CA file {path}")).with_source(e))?;
                    let certs = reqwest::Certificate::from_pem_bundle(&pem)
                        .map_err(|e| Error::config(format!("read the CA file {path}")).with_source(e))?;
                    for c in certs {
                        builder = builder.add_root_certificate(c);
                    }
                }
                builder.build().map_err(|e| Error::config("set up the http client").with_source(e))
            })
            .await
    }
}

#[async_trait]
impl ToolInstance for HttpTool {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        session::open(self).await
    }
}
