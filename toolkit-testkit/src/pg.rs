//! The local PostgreSQL of `.ci/services.sh` for tests: `psql` as the admin user, roles that log
//! in with a password, and databases of their own, each dropped when the test ends.

use std::process::Command;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// `psql -c SQL` as `admin` on `host:port`.
///
/// # Errors
/// psql's error output.
pub fn psql(host: &str, port: &str, admin: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", admin, "-d", "postgres", "-qc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// A PostgreSQL role that logs in with a password (in the `toolkit_pw` group of
/// `.ci/postgres-auth.sh`, which has password authentication), dropped when this is.
#[derive(Debug)]
pub struct PasswordRole {
    /// The role's name.
    pub name: String,
    host: String,
    port: String,
    admin: String,
}

impl PasswordRole {
    /// Creates a role with `password` on the PostgreSQL of the environment
    /// (`TOOLKIT_TEST_PG_HOST`, `_PORT`, `_ADMIN_USER`).
    ///
    /// # Errors
    /// Why it could not be created.
    pub fn create(prefix: &str, password: &str) -> Result<Self, String> {
        let host = std::env::var("TOOLKIT_TEST_PG_HOST").map_err(|_| "TOOLKIT_TEST_PG_HOST is not set".to_owned())?;
        let port = std::env::var("TOOLKIT_TEST_PG_PORT").unwrap_or_else(|_| "5432".into());
        let admin = std::env::var("TOOLKIT_TEST_PG_ADMIN_USER").unwrap_or_else(|_| "postgres".into());
        let name = crate::unique_name(prefix);
        psql(&host, &port, &admin, &format!("CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE toolkit_pw"))
            .map_err(|why| format!("cannot create a PostgreSQL role with a password: {why}"))?;
        Ok(Self { name, host, port, admin })
    }
}

impl Drop for PasswordRole {
    fn drop(&mut self) {
        let _ = psql(&self.host, &self.port, &self.admin, &format!("DROP ROLE IF EXISTS {}", self.name));
    }
}

/// A database of its own on the PostgreSQL of the environment, dropped (with its connections)
/// when this is.
#[derive(Debug)]
pub struct Database {
    /// The database's name.
    pub name: String,
    host: String,
    port: String,
    admin: String,
}

impl Database {
    /// Creates a database on the PostgreSQL of the environment (`TOOLKIT_TEST_PG_HOST`,
    /// `_PORT`, `_ADMIN_USER`).
    ///
    /// # Errors
    /// Why it could not be created.
    pub fn create(prefix: &str) -> Result<Self, String> {
        let host = std::env::var("TOOLKIT_TEST_PG_HOST").map_err(|_| "TOOLKIT_TEST_PG_HOST is not set".to_owned())?;
        let port = std::env::var("TOOLKIT_TEST_PG_PORT").unwrap_or_else(|_| "5432".into());
        let admin = std::env::var("TOOLKIT_TEST_PG_ADMIN_USER").unwrap_or_else(|_| "postgres".into());
        let name = crate::unique_name(prefix);
        psql(&host, &port, &admin, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { name, host, port, admin })
    }

    /// A `postgres://` URL of the database for the admin user (trust authentication).
    pub fn url(&self) -> String {
        format!("postgres://{}@{}:{}/{}", self.admin, self.host, self.port, self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ =
            psql(&self.host, &self.port, &self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// A TCP proxy to the server that can be taken down (every connection cut, the port closed)
/// and brought back on the same port.
pub struct TcpProxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    target: (String, u16),
    tasks: JoinSet<()>,
}

impl TcpProxy {
    /// Starts a proxy to `target` on a free port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start(target: (String, u16)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self { port, target, tasks: JoinSet::new() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect((target.0.as_str(), target.1)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    /// Cuts every connection and closes the port.
    pub fn down(&mut self) {
        // Aborting the accept task drops the listener and, with its JoinSet, every connection.
        self.tasks.abort_all();
    }

    /// Listens again on the same port.
    ///
    /// # Panics
    /// When the port cannot be bound again.
    pub async fn up(&mut self) {
        while self.tasks.join_next().await.is_some() {}
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// The spec lines (for [`tool_manifest`](crate::kube::tool_manifest)) of a read-only postgres
/// tool on the PostgreSQL of the environment, logging in as `role` with the password of the
/// Secret `pg-creds`, key `password`; `extra` lines (indented two spaces) are added.
///
/// # Panics
/// When `TOOLKIT_TEST_PG_HOST` is not set.
pub fn postgres_spec(role: &str, extra: &str) -> String {
    let host = std::env::var("TOOLKIT_TEST_PG_HOST").expect("TOOLKIT_TEST_PG_HOST");
    let port = std::env::var("TOOLKIT_TEST_PG_PORT").unwrap_or_else(|_| "5432".into());
    format!(
        "  type: postgres\n  readOnly: true\n{extra}  config: {{hostname: \"{host}\", port: {port}, username: {role}, \
         databaseName: postgres, sslMode: disable, credentialsRef: {{name: pg-creds, key: password}}}}"
    )
}
