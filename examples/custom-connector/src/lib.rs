//! `my-queue`: a message queue kept as files in a folder, as a toolkit connector of its own.
//!
//! Everything a connector brings is here and nowhere in toolkit: the type's name, the shape of
//! its `spec.config` ([`QueueSettings`], strict serde with a JSON Schema), pure validation that
//! names fields, file paths made relative to the manifest, the default arguments schema, how a
//! call is classified for `readOnly` and approvals, and the instance that probes, invokes and
//! opens sessions. [`register`] adds it to a registry with one call; from then on its tools
//! load, validate, list, probe, call, audit and appear over MCP like the built-in ones.
//!
//! ```yaml
//! apiVersion: toolkit.dev/v1alpha1
//! kind: Tool
//! metadata: {name: jobs}
//! spec:
//!   type: my-queue
//!   config: {folder: spool, maxDepth: 100}
//! ```
//!
//! A call takes `{"operation": "push", "message": ...}`, `{"operation": "peek"}`,
//! `{"operation": "pop"}` or `{"operation": "depth"}`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use toolkit_core::connector::{
    BuildContext, CallLimits, Capabilities, Connector, EnvEntry, Invocation, InvokeOutput, Invoker, Probe, ProbeReport,
    Request, Session, SpecPart, ToolInstance, TypeInfo,
};
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Class, ConnectorRegistry, Error, ErrorKind, Result, ToolSpec, Verdict};

/// The `spec.type` this connector serves.
pub const TYPE: &str = "my-queue";

/// Messages a queue holds when `maxDepth` is not set.
pub const DEFAULT_MAX_DEPTH: u32 = 1000;

/// Adds the `my-queue` connector to `registry`.
pub fn register(registry: &mut ConnectorRegistry) {
    registry.register(QueueConnector);
}

/// The connectors of this build with `my-queue` among them.
pub fn registry() -> ConnectorRegistry {
    let mut registry = toolkit_connectors::registry();
    register(&mut registry);
    registry
}

/// `spec.config` of a `my-queue` tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueSettings {
    /// The folder holding the messages, one JSON file each; relative to the manifest's folder.
    /// It must exist.
    pub folder: String,
    /// Messages the queue holds at most, 1-100000; 1000 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
}

impl QueueSettings {
    /// Reads and checks `spec.config`; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> std::result::Result<Self, Vec<FieldError>> {
        let Some(settings) = spec.config_as::<QueueSettings>()? else {
            return Err(vec![FieldError::new("spec.config", "is required for my-queue tools (at least `folder`)")]);
        };
        let mut errs = Vec::new();
        if settings.folder.trim().is_empty() {
            errs.push(FieldError::new("spec.config.folder", "must name a folder"));
        }
        if let Some(n) = settings.max_depth
            && !(1..=100_000).contains(&n)
        {
            errs.push(FieldError::new("spec.config.maxDepth", format!("{n} is out of range; use 1 to 100000")));
        }
        if errs.is_empty() { Ok(settings) } else { Err(errs) }
    }
}

/// The `my-queue` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueConnector;

impl Connector for QueueConnector {
    fn info(&self) -> TypeInfo {
        TypeInfo::new(TYPE, "A message queue kept as files in a folder").with(SpecPart::config::<QueueSettings>(true))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { probe: true, session: true, invoke: true, read_only: true, ..Capabilities::default() }
    }

    fn validate(&self, spec: &ToolSpec) -> Vec<FieldError> {
        QueueSettings::from_spec(spec).err().unwrap_or_default()
    }

    fn resolve_paths(&self, spec: &mut ToolSpec, dir: &Path) {
        toolkit_core::config::resolve_config_paths(spec, &["folder"], dir);
    }

    fn default_input_schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["push", "peek", "pop", "depth"], "description": "What to do"},
                "message": {"description": "The message to push (any JSON)"}
            },
            "required": ["operation"],
            "additionalProperties": false
        }))
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn ToolInstance>> {
        let settings = QueueSettings::from_spec(ctx.spec())
            .map_err(|errs| config_error(format_args!("build my-queue tool {}", ctx.qualified_name()), &errs))?;
        Ok(Arc::new(Queue {
            folder: PathBuf::from(settings.folder),
            max_depth: settings.max_depth.unwrap_or(DEFAULT_MAX_DEPTH),
            read_only: ctx.spec().read_only,
        }))
    }
}

/// One queue: its folder. Nothing is opened until a call.
#[derive(Debug)]
struct Queue {
    folder: PathBuf,
    max_depth: u32,
    read_only: bool,
}

impl Queue {
    /// The message files, oldest first (names are zero-padded sequence numbers).
    async fn messages(&self) -> Result<Vec<PathBuf>> {
        let mut entries = tokio::fs::read_dir(&self.folder).await.map_err(|e| self.unreachable(e))?;
        let mut out = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|e| self.unreachable(e))? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }

    fn unreachable(&self, e: std::io::Error) -> Error {
        Error::new(ErrorKind::Unreachable, format!("read the queue folder {}", self.folder.display())).with_source(e)
    }

    async fn run(&self, operation: &str, message: Option<&Value>) -> Result<Value> {
        if self.read_only && matches!(operation, "push" | "pop") {
            return Err(Error::new(ErrorKind::Denied, format!("{operation} on a read-only queue")));
        }
        let messages = self.messages().await?;
        match operation {
            "depth" => Ok(json!({"depth": messages.len()})),
            "peek" => match messages.first() {
                None => Ok(json!({"message": null})),
                Some(path) => Ok(json!({"message": read(path).await?})),
            },
            "pop" => match messages.first() {
                None => Ok(json!({"message": null})),
                Some(path) => {
                    let value = read(path).await?;
                    tokio::fs::remove_file(path)
                        .await
                        .map_err(|e| Error::internal("remove a message").with_source(e))?;
                    Ok(json!({"message": value}))
                }
            },
            "push" => {
                if messages.len() >= self.max_depth as usize {
                    return Err(Error::new(
                        ErrorKind::Upstream,
                        format!("the queue is full ({} messages)", self.max_depth),
                    ));
                }
                let next =
                    messages.last().and_then(|p| p.file_stem()?.to_str()?.parse::<u64>().ok()).map_or(1, |n| n + 1);
                let body = serde_json::to_vec(message.unwrap_or(&Value::Null))
                    .map_err(|e| Error::invalid_input("encode the message").with_source(e))?;
                tokio::fs::write(self.folder.join(format!("{next:012}.json")), body)
                    .await
                    .map_err(|e| Error::internal("write a message").with_source(e))?;
                Ok(json!({"pushed": next, "depth": messages.len() + 1}))
            }
            other => Err(Error::invalid_input(format!("unknown operation `{other}`; use push, peek, pop or depth"))),
        }
    }
}

async fn read(path: &Path) -> Result<Value> {
    let bytes = tokio::fs::read(path).await.map_err(|e| Error::internal("read a message").with_source(e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::new(ErrorKind::Upstream, "a message is not JSON").with_source(e))
}

/// What an operation does to the queue.
fn classify(operation: &str) -> Verdict {
    let (class, what) = match operation {
        "peek" | "depth" => (Class::Read, "only reads the queue"),
        "push" | "pop" => (Class::Write, "changes the queue"),
        _ => (Class::Unknown, "is not an operation of the queue"),
    };
    Verdict::one(class, operation, "my-queue.operation", format!("`{operation}` {what}"))
}

#[async_trait]
impl ToolInstance for Queue {
    fn probe(&self) -> Option<&dyn Probe> {
        Some(self)
    }

    fn invoker(&self) -> Option<&dyn Invoker> {
        Some(self)
    }

    fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        let text = request.text("operation");
        Some(classify(text.split_whitespace().next().unwrap_or_default()))
    }

    async fn open_session(&self) -> Result<Box<dyn Session>> {
        self.messages().await?;
        Ok(Box::new(QueueSession(Queue {
            folder: self.folder.clone(),
            max_depth: self.max_depth,
            read_only: self.read_only,
        })))
    }
}

#[async_trait]
impl Probe for Queue {
    async fn probe(&self) -> Result<ProbeReport> {
        let depth = self.messages().await?.len();
        let mut report = ProbeReport {
            server_version: Some(format!("my-queue {}", env!("CARGO_PKG_VERSION"))),
            ..ProbeReport::default()
        };
        report.details.insert("depth".into(), depth.to_string());
        Ok(report)
    }
}

#[async_trait]
impl Invoker for Queue {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let operation = call.arguments.get("operation").and_then(Value::as_str).unwrap_or_default();
        Ok(InvokeOutput::new(self.run(operation, call.arguments.get("message")).await?))
    }
}

/// A session: the folder for native tools (`QUEUE_FOLDER`), and operations as commands
/// (`peek`, `push {"job": 1}`).
struct QueueSession(Queue);

#[async_trait]
impl Session for QueueSession {
    fn env(&self) -> Vec<EnvEntry> {
        vec![EnvEntry::plain("QUEUE_FOLDER", self.0.folder.display().to_string())]
    }

    async fn exec(&self, command: &[String], _limits: &CallLimits) -> Result<InvokeOutput> {
        let line = command.join(" ");
        let (operation, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let message = (!rest.trim().is_empty())
            .then(|| serde_json::from_str(rest).unwrap_or_else(|_| Value::String(rest.trim().to_owned())));
        Ok(InvokeOutput::new(self.0.run(operation, message.as_ref()).await?))
    }
}
