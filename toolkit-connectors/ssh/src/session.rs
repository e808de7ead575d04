//! Sessions: a connection of their own, the env and argv of the native `ssh` client (the key
//! and the verified host key written to files in a private temporary directory), commands run
//! through the connection, and local port forwarding for reaching hosts behind a bastion.

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, ErrorKind, Result};

use crate::connection::{Connected, Connection, Credential};
use crate::exec::{check_read_only, run_dedicated};

/// A live ssh session: its own authenticated connection and the files the native client uses.
pub struct SshSession {
    conn: Arc<Connection>,
    live: Mutex<Option<Arc<Connected>>>,
    dir: StdMutex<Option<tempfile::TempDir>>,
    known_hosts: PathBuf,
    key_file: Option<PathBuf>,
    password: Option<SecretString>,
    read_only: bool,
}

impl fmt::Debug for SshSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshSession")
            .field("target", &self.conn.config.target())
            .field("known_hosts", &self.known_hosts)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl SshSession {
    /// Connects and writes the native client's files.
    pub(crate) async fn open(conn: Arc<Connection>, read_only: bool) -> Result<Self> {
        let (live, credential) = conn.connect_with_credential().await?;
        let files = write_files(&conn, &live, &credential);
        let (dir, known_hosts, key_file) = match files {
            Ok(files) => files,
            Err(e) => {
                live.disconnect().await;
                return Err(e);
            }
        };
        let password = match credential {
            Credential::Password(p) => Some(p),
            Credential::Key(_) => None,
        };
        Ok(Self {
            conn,
            live: Mutex::new(Some(Arc::new(live))),
            dir: StdMutex::new(Some(dir)),
            known_hosts,
            key_file,
            password,
            read_only,
        })
    }

    async fn connected(&self) -> Result<Arc<Connected>> {
        match self.live.lock().await.as_ref() {
            Some(c) if !c.handle.is_closed() => Ok(c.clone()),
            Some(_) => Err(self.conn.error(ErrorKind::Unreachable, "use the ssh session: the connection has dropped")),
            None => Err(Error::new(ErrorKind::NotFound, "use the ssh session: it is closed")),
        }
    }

    /// Listens on `127.0.0.1:0` and forwards every connection made there to `host:port` as
    /// the server sees it (a `direct-tcpip` channel), until the returned [`Forward`] is
    /// dropped or the session closes.
    pub async fn forward(&self, host: &str, port: u16) -> Result<Forward> {
        let conn = self.connected().await?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::internal("listen on 127.0.0.1 for a forwarded port").with_source(e))?;
        let local = listener.local_addr().map_err(|e| Error::internal("read the forwarded port").with_source(e))?;
        let target = (host.to_owned(), port);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, peer)) = listener.accept().await {
                let conn = conn.clone();
                let (host, port) = target.clone();
                tokio::spawn(async move {
                    let opened = conn
                        .handle
                        .channel_open_direct_tcpip(host, u32::from(port), peer.ip().to_string(), u32::from(peer.port()))
                        .await;
                    if let Ok(channel) = opened {
                        let mut stream = channel.into_stream();
                        let _ = tokio::io::copy_bidirectional(&mut socket, &mut stream).await;
                    }
                });
            }
        });
        Ok(Forward { local, task })
    }
}

/// A forwarded local port; dropping it stops listening.
#[derive(Debug)]
pub struct Forward {
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl Forward {
    /// Where to connect: `127.0.0.1` and the port picked.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Files = (tempfile::TempDir, PathBuf, Option<PathBuf>);

/// known_hosts with the verified host key and, for key logins, the private key; both 0600 in
/// a 0700 directory of their own.
fn write_files(conn: &Connection, live: &Connected, credential: &Credential) -> Result<Files> {
    let failed = |e: std::io::Error| Error::internal("write the ssh session's files").with_source(e);
    let dir = tempfile::Builder::new().prefix("toolkit-ssh-").tempdir().map_err(failed)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).map_err(failed)?;
    let key_line = live.host_key.to_openssh().map_err(|e| Error::internal("encode the host key").with_source(e))?;
    let known_hosts = dir.path().join("known_hosts");
    write_private(&known_hosts, format!("{} {key_line}\n", conn.config.known_hosts_name()).as_bytes())
        .map_err(failed)?;
    let key_file = match credential {
        Credential::Key(pem) => {
            let path = dir.path().join("id");
            // OpenSSH wants the final newline; the copy is zeroed when dropped.
            let text = SecretString::new(format!("{}\n", pem.expose().trim_end()));
            write_private(&path, text.expose().as_bytes()).map_err(failed)?;
            Some(path)
        }
        Credential::Password(_) => None,
    };
    Ok((dir, known_hosts, key_file))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[async_trait]
impl Session for SshSession {
    fn env(&self) -> Vec<EnvEntry> {
        let c = &self.conn.config;
        let mut env = vec![
            EnvEntry::plain("SSH_HOST", c.host.clone()),
            EnvEntry::plain("SSH_PORT", c.port.to_string()),
            EnvEntry::plain("SSH_USER", c.username.clone()),
            EnvEntry::plain("SSH_KNOWN_HOSTS", self.known_hosts.display().to_string()),
        ];
        if let Some(key) = &self.key_file {
            env.push(EnvEntry::plain("SSH_KEY_FILE", key.display().to_string()));
        }
        if let Some(p) = &self.password {
            // The variable `sshpass -e` reads.
            env.push(EnvEntry::secret("SSHPASS", p.clone()));
        }
        env
    }

    fn client(&self) -> Option<Vec<String>> {
        let c = &self.conn.config;
        let mut argv: Vec<String> =
            ["ssh", "-p", &c.port.to_string(), "-l", &c.username].into_iter().map(str::to_owned).collect();
        let options = [
            "StrictHostKeyChecking=yes".to_owned(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_owned(),
        ];
        for o in options {
            argv.extend(["-o".to_owned(), o]);
        }
        match &self.key_file {
            Some(key) => {
                argv.extend(["-i".to_owned(), key.display().to_string()]);
                argv.extend(["-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no"].map(str::to_owned));
            }
            None => argv.extend(
                ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive"]
                    .map(str::to_owned),
            ),
        }
        argv.push(c.host.clone());
        Some(argv)
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let line = match command {
            [] => return Err(Error::invalid_input("run an ssh command: the command is empty")),
            [one] => one.clone(),
            words => shell_words::join(words),
        };
        if line.trim().is_empty() {
            return Err(Error::invalid_input("run an ssh command: the command is empty"));
        }
        if self.read_only {
            check_read_only(&line)?;
        }
        let conn = self.connected().await?;
        run_dedicated(&self.conn, &conn, &line, limits).await
    }

    async fn close(&self) {
        if let Some(c) = self.live.lock().await.take() {
            c.disconnect().await;
        }
        self.dir.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
