//! What a tool of a SQL server engine holds, whatever the engine: its settings, where its
//! secrets come from, and a pool opened on first use; and the call every engine runs the same way.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use sqlx::pool::{Pool, PoolConnection};
use sqlx::{Connection, Database};
use tokio::sync::OnceCell;
use toolkit_core::connector::{BuildContext, CallLimits, Capabilities, Invocation, InvokeOutput};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::{Error, Request, Result, SecretResolver, Verdict};
use toolkit_policy::SqlDialect;

use crate::config::ServerConfig;
use crate::connect::{Credentials, Phase, check_ca_file, connect_message, connect_within, with_tool};
use crate::invoke::Outcome;
use crate::invoke::{query_argument, within};
use crate::permissions::{GrantRule, RuleSyntax};
use crate::session::{SessionSettings, SqlSession};

/// What sets one engine apart for [`ServerTool`] and [`SqlSession`].
pub trait SqlEngine: Send + Sync + 'static {
    /// The sqlx database.
    type Database: Database;

    /// What a call does, in messages ("run query on mysql").
    const RUN_QUERY: &'static str;

    /// Driver options for `config` and `creds`; the password goes into the options, never into
    /// a URL.
    fn connect_options(config: &ServerConfig, creds: &Credentials) -> <ConnectionOf<Self> as Connection>::Options;

    /// Runs `sql` on `conn` as a call does.
    fn run<'a>(
        conn: &'a mut ConnectionOf<Self>,
        sql: &'a str,
        read_only: bool,
        limits: &'a CallLimits,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    /// Translates a driver error whose message is `what`.
    fn classify(err: sqlx::Error, phase: Phase, what: String) -> Error;
}

/// What every server engine supports.
pub const SERVER_CAPABILITIES: Capabilities = Capabilities {
    probe: true,
    session: true,
    invoke: true,
    permissions_plan: true,
    permissions_apply: true,
    read_only: true,
};

/// The driver's connection of engine `E`.
pub type ConnectionOf<E> = <<E as SqlEngine>::Database as Database>::Connection;

/// One tool of engine `E`: its settings and a connection pool opened on first use.
pub struct ServerTool<E: SqlEngine> {
    /// The engine's name in messages (`mysql`, or a postgres flavor such as `cockroachdb`).
    pub engine: &'static str,
    /// The validated settings.
    pub config: ServerConfig,
    /// The namespace whose Secrets the tool reads.
    pub namespace: String,
    /// `namespace/name` of the tool.
    pub qualified_name: String,
    /// Whether statements run read-only.
    pub read_only: bool,
    /// `spec.permissions`, as declared.
    pub permissions: Option<PermissionsSpec>,
    /// The SQL dialect statements are classified in.
    pub dialect: SqlDialect,
    secrets: Arc<dyn SecretResolver>,
    pool: OnceCell<Pooled<E::Database>>,
}

/// The pool and the user it connects as (resolved once, with the password).
struct Pooled<DB: Database> {
    pool: Pool<DB>,
    username: String,
}

impl<E: SqlEngine> fmt::Debug for ServerTool<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTool")
            .field("tool", &self.qualified_name)
            .field("engine", &self.engine)
            .field("address", &self.config.address())
            .field("database", &self.config.database)
            .field("read_only", &self.read_only)
            .field("connected", &self.pool.initialized())
            .finish_non_exhaustive()
    }
}

impl<E: SqlEngine> ServerTool<E> {
    /// The tool of `ctx` with its validated `config`, whose statements are in `dialect`;
    /// nothing connects until first use.
    pub fn new(ctx: &BuildContext, engine: &'static str, dialect: SqlDialect, config: ServerConfig) -> Self {
        let spec = ctx.spec();
        Self {
            engine,
            dialect,
            config,
            namespace: ctx.namespace.clone(),
            qualified_name: ctx.qualified_name(),
            read_only: spec.read_only,
            permissions: spec.permissions.clone(),
            secrets: ctx.secrets.clone(),
            pool: OnceCell::new(),
        }
    }

    /// The statement of a call or a session command, classified in the engine's dialect.
    pub fn classify(&self, request: Request<'_>) -> Option<Verdict> {
        crate::classify(self.dialect, request)
    }

    /// The user name, read now from its Secret when it has one.
    pub async fn username(&self) -> Result<String> {
        self.config.username(self.secrets.as_ref(), &self.namespace, &self.qualified_name).await
    }

    /// User and password, resolved now.
    pub async fn credentials(&self) -> Result<Credentials> {
        self.config.credentials(self.secrets.as_ref(), &self.namespace, &self.qualified_name).await
    }

    /// "connect to ENGINE at HOST:PORT as user `USER`".
    pub fn connect_message(&self, username: &str) -> String {
        connect_message(self.engine, &self.config.address(), username)
    }

    /// How connecting fails, for messages: with a TLS handshake or without.
    pub fn connect_phase(&self) -> Phase {
        Phase::Connect { tls: self.config.may_use_tls() }
    }

    /// The pool, created on first use with the credentials resolved at that moment.
    async fn pooled(&self) -> Result<&Pooled<E::Database>> {
        self.pool
            .get_or_try_init(|| async {
                let creds = self.credentials().await?;
                check_ca_file(self.config.ca_file.as_deref()).map_err(|e| with_tool(e, &self.qualified_name))?;
                let pool = self.config.lazy_pool(E::connect_options(&self.config, &creds));
                Ok(Pooled { pool, username: creds.username })
            })
            .await
    }

    /// A handle of the pool (cheap to clone).
    pub async fn pool(&self) -> Result<Pool<E::Database>> {
        Ok(self.pooled().await?.pool.clone())
    }

    /// A pooled connection, opening one if needed.
    pub async fn acquire(&self) -> Result<PoolConnection<E::Database>> {
        let pooled = self.pooled().await?;
        pooled.pool.acquire().await.map_err(|e| {
            E::classify(e, self.connect_phase(), self.connect_message(&pooled.username))
                .with_context("tool", &self.qualified_name)
        })
    }

    /// Opens one connection outside the pool (so a wrong password or an unreachable server is
    /// reported as such, not as a pool timeout), with credentials resolved now.
    pub async fn connect_once(&self) -> Result<(ConnectionOf<E>, Credentials)> {
        let creds = self.credentials().await?;
        check_ca_file(self.config.ca_file.as_deref()).map_err(|e| with_tool(e, &self.qualified_name))?;
        let options = E::connect_options(&self.config, &creds);
        let what = self.connect_message(&creds.username);
        let fail = |e| E::classify(e, self.connect_phase(), what.clone());
        let conn = connect_within(&options, self.config.connect_timeout, &what, fail)
            .await
            .map_err(|e| e.with_context("tool", &self.qualified_name))?;
        Ok((conn, creds))
    }

    /// Runs one call on a pooled connection: the `query` argument as one statement, within the
    /// call's time (which also bounds connecting).
    pub async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let sql = query_argument(&call.arguments)?;
        let limits = call.limits;
        let work = async {
            let mut conn = self.acquire().await?;
            let outcome = E::run(&mut conn, sql, self.read_only, &limits).await;
            if outcome.close_connection {
                conn.close_on_drop();
            }
            outcome.result
        };
        let result = within(limits.timeout, E::RUN_QUERY, work).await;
        result.map_err(|e| with_tool(crate::connect::on_engine(e, E::RUN_QUERY, self.engine), &self.qualified_name))
    }

    /// The role the declared grants are for (the connection user when `spec.permissions.role`
    /// is not set) and the rules, checked with `syntax`; `None` when the tool declares no
    /// permissions.
    pub async fn grant_rules(&self, syntax: &RuleSyntax) -> Result<Option<(String, Vec<GrantRule>)>> {
        let Some(spec) = &self.permissions else { return Ok(None) };
        let rules = syntax.plan_rules(spec)?;
        let role = match &spec.role {
            Some(r) => r.clone(),
            None => self.username().await?,
        };
        Ok(Some((role, rules)))
    }

    /// Opens a session now (so a session that opens is known to work) for the native client run
    /// as `client`, with the environment the engine lists in `env`.
    pub async fn open_session(&self, client: Vec<String>, env: crate::SessionEnv) -> Result<SqlSession<E>> {
        let (conn, creds) = self.connect_once().await?;
        let settings = SessionSettings {
            engine: self.engine,
            tool: self.qualified_name.clone(),
            env: crate::session_entries(env(&self.config), &creds),
            client,
            read_only: self.read_only,
            options: E::connect_options(&self.config, &creds),
            phase: self.connect_phase(),
            connect_message: self.connect_message(&creds.username),
            connect_timeout: self.config.connect_timeout,
        };
        Ok(SqlSession::new(settings, conn))
    }

    /// Closes the pool, if it was opened.
    pub async fn shutdown(&self) {
        if let Some(pooled) = self.pool.get() {
            pooled.pool.close().await;
        }
    }
}
