//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declare, validate, probe and use the tools agents reach: databases, HTTP APIs, caches and
/// more, with credentials kept on this side.
#[derive(Debug, Parser)]
#[command(name = "toolkit", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// Manifest file or folder (repeatable).
    #[arg(long = "tools", global = true, env = "TOOLKIT_TOOLS", value_delimiter = ':', default_value = "./tools")]
    pub tools: Vec<PathBuf>,

    /// Read Tools, ToolRegistries and ApprovalPolicies (and the Secrets and ConfigMaps they
    /// name) from the Kubernetes API instead of --tools: KUBECONFIG, ~/.kube/config or the
    /// pod's service account.
    #[cfg(feature = "kubernetes")]
    #[arg(long, global = true, env = "TOOLKIT_KUBERNETES", conflicts_with = "tools")]
    pub kubernetes: bool,

    /// With --kubernetes: the namespace to read (default: every namespace).
    #[cfg(feature = "kubernetes")]
    #[arg(long, global = true, value_name = "NS", requires = "kubernetes")]
    pub namespace: Option<String>,

    /// State (status, counters, audit, sessions, approvals): a directory for SQLite, or a
    /// postgres:// URL shared by several gateways and CLIs (give a URL with a password through
    /// TOOLKIT_STATE, not on the command line).
    #[arg(long, global = true, env = "TOOLKIT_STATE", hide_env_values = true, default_value = "./.toolkit")]
    pub state: PathBuf,

    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,

    /// More log output on stderr: toolkit's warnings only by default; -v adds toolkit's info
    /// and the drivers' warnings, -vv debug from everything. TOOLKIT_LOG (or RUST_LOG) overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// The connectors and peer formats manifests are read with (this build's, unless a program
    /// embedding the CLI adds its own: [`crate::run_with`]).
    #[arg(skip)]
    pub connectors: toolkit_core::ConnectorRegistry,
}

const EXIT_CODES: &str = "Exit codes: 0 ok, 1 failed, 2 usage, 3 configuration, 4 not found, \
5 denied, 6 unreachable or timeout, 7 invalid input, 8 unsupported, 130 cancelled.";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable tables.
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without touching any system.
    Validate {
        /// Files or folders (default: --tools).
        paths: Vec<PathBuf>,
    },
    /// Convert peer manifests (agentkube, STOA, ARK, Omnia, k13d) to native YAML on stdout.
    Import {
        /// Files to convert.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Work with tools.
    #[command(subcommand)]
    Tool(ToolCommand),
    /// Read the audit log.
    Audit(AuditArgs),
    /// Classify commands and SQL, and see what approval settings make of them.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List calls waiting for approval, and approve or reject them.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
}

/// `toolkit approvals ...`.
#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Calls waiting for a decision (with --all, every request and how it ended).
    List {
        /// Include decided and expired requests.
        #[arg(long)]
        all: bool,
    },
    /// Let a waiting call run (as local:USER; not your own call).
    Approve {
        /// The request id from `approvals list`.
        id: i64,
    },
    /// Refuse a waiting call; the caller gets the reason.
    Reject {
        /// The request id from `approvals list`.
        id: i64,
        /// Why, told to the caller and kept in the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `toolkit tool ...`.
#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// List declared tools with their phase and why any is not served.
    List,
    /// Show one tool.
    Get {
        /// NAME or NAMESPACE/NAME.
        name: String,
    },
    /// Check connectivity and record the outcome.
    Probe {
        /// NAME or NAMESPACE/NAME.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Probe every enabled tool, several at once.
        #[arg(long)]
        all: bool,
    },
    /// Run one query or command through the tool's session.
    Exec {
        /// NAME or NAMESPACE/NAME.
        name: String,
        /// The query or command, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Call the tool as an agent would: validated, limited, audited.
    Call {
        /// NAME or NAMESPACE/NAME.
        name: String,
        /// Arguments as a JSON object, `@FILE`, or `-` for stdin.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Print the definitions agents see, as MCP tools or OpenAI-style functions (JSON).
    Schema(SchemaArgs),
    /// Open $SHELL (or the native client) with the connection environment injected.
    Connect(ConnectArgs),
    /// Show local sessions.
    Status {
        /// Include ended sessions.
        #[arg(long)]
        all: bool,
    },
    /// Show the engine grants planned from spec.permissions and what is granted now.
    Permissions {
        /// NAME or NAMESPACE/NAME.
        name: String,
        /// Apply the plan (only with `spec.permissions.mode: enforce`).
        #[arg(long)]
        apply: bool,
    },
    /// End the sessions of a tool, or one session by id.
    Pause {
        /// NAME, NAMESPACE/NAME, or a session id.
        target: String,
    },
}

/// `toolkit tool schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// NAME, NAMESPACE/NAME or the MCP name; every served tool when omitted.
    pub name: Option<String>,
    /// Definition format.
    #[arg(long, value_enum, default_value_t = SchemaFormat::Mcp)]
    pub format: SchemaFormat,
    /// With --format openai: mark functions `strict: true` (tools whose schemas do not allow it
    /// get `strict: false`, and a note on stderr says why).
    #[arg(long)]
    pub strict: bool,
}

/// Tool definition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// MCP `Tool` objects, as `tools/list` returns them.
    Mcp,
    /// OpenAI function calling: `{"type": "function", "function": {...}}`.
    Openai,
}

/// `toolkit tool connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// NAME or NAMESPACE/NAME.
    pub name: String,
    /// Run the engine's client (psql, redis-cli, sqlite3) instead of $SHELL.
    #[arg(long)]
    pub client: bool,
    /// Run this command instead, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// `toolkit audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// At most this many records, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// `toolkit policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Classify a command or SQL statement (read, write, unknown, interactive, dangerous) and
    /// decide allow, require approval or block; exit code 5 when it would be blocked.
    Check(PolicyCheckArgs),
}

/// `toolkit policy check`.
#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// Check it as a call of this tool (NAME or NAMESPACE/NAME): its type picks the kind, its
    /// approval settings and its namespace's ApprovalPolicy apply.
    #[arg(long)]
    pub tool: Option<String>,
    /// What the text is (default: from --tool, else shell).
    #[arg(long, value_enum)]
    pub kind: Option<PolicyKind>,
    /// The command or statement, after `--` (quote it as one argument to keep its quoting).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Kinds of text `policy check` classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyKind {
    /// A shell command line.
    Shell,
    /// kubectl's arguments, or a command line starting with `kubectl`.
    Kubectl,
    /// SQL (the tool's dialect, else PostgreSQL).
    Sql,
}
