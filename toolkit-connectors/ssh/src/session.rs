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

/// The image of a bastion pod: OpenSSH's `ssh` (9.x: the script below needs
/// `KnownHostsCommand` and `SSH_ASKPASS_REQUIRE`, 8.5 and later) and a shell. `ssh` refuses to
/// start when the user it runs as has no passwd entry ("No user exists for uid"), and a bastion
/// pod runs as uid 65532: Chainguard's images name that uid (`nonroot`), Alpine-based ssh images
/// do not.
pub(crate) const IMAGE: &str = "cgr.dev/chainguard/git:latest-dev";

/// A bastion pod's session, when the pod can check the host key as the tool does: only with
/// `hostKeyFingerprint` and no `knownHostsFile` (that file is a path on this machine, and a
/// host key must satisfy both when both are set), so `None` otherwise.
///
/// `ssh` runs through a fixed script (no value of the spec or of a Secret is in it; they come
/// from the environment): in a private directory (`umask 077`, under the writable `/tmp`) it
/// writes the private key from `SSH_PRIVATE_KEY`, or an askpass helper that prints `SSHPASS`,
/// and a `KnownHostsCommand` helper that prints the server's key as a known_hosts line only
/// when its fingerprint is `SSH_HOST_KEY_FINGERPRINT`. With `StrictHostKeyChecking=yes` and no
/// other known_hosts, any other key is refused. The directory is removed when ssh exits.
pub(crate) fn template(config: &crate::SshConfig) -> Option<toolkit_core::SessionTemplate> {
    use toolkit_core::EnvTemplate;
    let fingerprint = config.host_key_fingerprint.as_ref()?;
    if config.known_hosts_file.is_some() {
        return None;
    }
    let fingerprint = fingerprint.to_string();
    let hash = if fingerprint.starts_with("SHA512:") { "sha512" } else { "sha256" };
    let mut env = vec![
        EnvTemplate::value("SSH_HOST", config.host.clone()),
        EnvTemplate::value("SSH_PORT", config.port.to_string()),
        EnvTemplate::value("SSH_USER", config.username.clone()),
        EnvTemplate::value("SSH_HOST_KEY_FINGERPRINT", fingerprint),
    ];
    let mut lines = vec![
        "umask 077",
        "d=$(mktemp -d \"${TMPDIR:-/tmp}/ssh.XXXXXX\") || exit 1",
        "trap 'rm -rf \"$d\"' EXIT",
        "printf '%s\\n' \"$SSH_HOST_KEY_FINGERPRINT\" > \"$d/fingerprint\"",
        "printf '%s\\n' '#!/bin/sh' '[ -n \"$1\" ] && [ \"$1\" = \"$(cat \"${0%/*}/fingerprint\")\" ] || exit 0' \
         'printf \"%s %s %s\\n\" \"$2\" \"$3\" \"$4\"' > \"$d/hostkey\"",
        "chmod 700 \"$d/hostkey\" || exit 1",
    ];
    let auth = match &config.auth {
        crate::Auth::Key(key) => {
            env.push(EnvTemplate::secret("SSH_PRIVATE_KEY", key));
            lines.push("printf '%s\\n' \"$SSH_PRIVATE_KEY\" > \"$d/id\" || exit 1");
            "-i \"$d/id\" -o IdentitiesOnly=yes -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no"
        }
        crate::Auth::Password(password) => {
            env.push(EnvTemplate::secret("SSHPASS", password));
            lines.push(
                "printf '%s\\n' '#!/bin/sh' 'printf \"%s\\n\" \"$SSHPASS\"' > \"$d/askpass\" && chmod 700 \"$d/askpass\" \
                 || exit 1",
            );
            lines.push("export SSH_ASKPASS=\"$d/askpass\" SSH_ASKPASS_REQUIRE=force");
            "-o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
             -o NumberOfPasswordPrompts=1"
        }
    };
    let ssh = format!(
        "ssh -p \"$SSH_PORT\" -l \"$SSH_USER\" -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null \
         -o GlobalKnownHostsFile=/dev/null -o FingerprintHash={hash} \
         -o \"KnownHostsCommand=$d/hostkey %f %H %t %K\" -o UpdateHostKeys=no {auth} -- \"$SSH_HOST\" \"$@\""
    );
    lines.push(&ssh);
    let script = lines.join("\n");
    let shell = vec!["sh".to_owned(), "-c".to_owned(), script, "ssh".to_owned()];
    Some(toolkit_core::SessionTemplate {
        image: IMAGE.to_owned(),
        client: shell.clone(),
        env,
        exec: toolkit_core::ExecForm { prefix: shell, joined: true },
        service_account: None,
        namespace: None,
    })
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

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use toolkit_core::model::SecretKeySelector;
    use toolkit_core::{EnvSource, EnvTemplate, ToolSpec};

    use super::*;
    use crate::SshConfig;

    const FP: &str = "SHA256:nD3cQUusYU2vNGN53hRMgXOICbkP3Bo2WPWGToMTRZo";

    fn config(c: serde_json::Value) -> SshConfig {
        let spec = ToolSpec { type_: "ssh".into(), config: Some(c), ..ToolSpec::default() };
        SshConfig::from_spec(&spec).unwrap()
    }

    #[test]
    fn a_pod_session_pins_the_host_key_and_names_secrets_by_their_keys() {
        let c = config(serde_json::json!({
            "hostname": "web1", "port": 2222, "username": "deploy", "hostKeyFingerprint": FP,
            "sshKey": {"name": "deploy-key", "key": "id_ed25519"}
        }));
        let t = template(&c).unwrap();
        assert_eq!(t.image, "cgr.dev/chainguard/git:latest-dev");
        let key = SecretKeySelector { name: "deploy-key".into(), key: "id_ed25519".into(), namespace: None };
        assert_eq!(
            t.env,
            vec![
                EnvTemplate::value("SSH_HOST", "web1"),
                EnvTemplate::value("SSH_PORT", "2222"),
                EnvTemplate::value("SSH_USER", "deploy"),
                EnvTemplate::value("SSH_HOST_KEY_FINGERPRINT", FP),
                EnvTemplate::secret("SSH_PRIVATE_KEY", &key),
            ]
        );
        let argv = t.exec.argv(&["uptime".into(), "-p".into()]);
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert_eq!(argv[3..], ["ssh", "uptime -p"]);
        assert_eq!(t.client, argv[..4]);
        let script = &argv[2];
        // Nothing of the spec or a Secret is in the script: it reads them from the environment.
        for literal in ["web1", "2222", "deploy", FP, "id_ed25519"] {
            assert!(!script.contains(literal), "{literal} in {script}");
        }
        for part in [
            "umask 077",
            "StrictHostKeyChecking=yes",
            "UserKnownHostsFile=/dev/null",
            "GlobalKnownHostsFile=/dev/null",
            "FingerprintHash=sha256",
            "\"KnownHostsCommand=$d/hostkey %f %H %t %K\"",
            "-i \"$d/id\"",
            "-- \"$SSH_HOST\" \"$@\"",
        ] {
            assert!(script.contains(part), "{part} not in {script}");
        }

        let c = config(serde_json::json!({
            "hostname": "web1", "username": "deploy", "hostKeyFingerprint": FP, "usePassword": true,
            "credentialsRef": {"name": "deploy-login", "key": "password"}
        }));
        let t = template(&c).unwrap();
        let last = t.env.last().unwrap();
        assert_eq!(last.name, "SSHPASS");
        assert!(matches!(&last.source, EnvSource::Secret(s) if s.name == "deploy-login" && s.key == "password"));
        assert!(t.client[2].contains("SSH_ASKPASS_REQUIRE=force"));
        assert!(t.client[2].contains("PubkeyAuthentication=no"));
        // Both scripts are valid sh.
        for script in [
            &t.client[2],
            &template(&config(serde_json::json!({
                "hostname": "h", "username": "u", "hostKeyFingerprint": FP, "sshKey": {"name": "k", "key": "id"}
            })))
            .unwrap()
            .client[2],
        ] {
            let checked = Command::new("sh").args(["-n", "-c", script]).status().unwrap();
            assert!(checked.success(), "{script}");
        }
    }

    #[test]
    fn no_pod_session_without_a_host_key_the_pod_can_check() {
        let key = serde_json::json!({"name": "k", "key": "id"});
        // A known_hosts file is a path on this machine.
        let c = config(serde_json::json!({
            "hostname": "h", "username": "u", "sshKey": key, "knownHostsFile": "/etc/ssh/ssh_known_hosts"
        }));
        assert!(template(&c).is_none());
        let c = config(serde_json::json!({
            "hostname": "h", "username": "u", "sshKey": key, "knownHostsFile": "/k", "hostKeyFingerprint": FP
        }));
        assert!(template(&c).is_none());
    }

    fn have(program: &str) -> bool {
        Command::new(program).arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    }

    /// The script itself against a local `sshd` run as this user: it logs in with the key from
    /// the environment when the host key's fingerprint matches, and refuses any other host key.
    #[test]
    fn the_script_logs_in_only_to_the_pinned_host_key() {
        let sshd = std::path::Path::new("/usr/sbin/sshd");
        if !sshd.exists() || !have("ssh") || !have("ssh-keygen") {
            eprintln!("skipped: needs ssh, ssh-keygen and /usr/sbin/sshd");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        for (name, kind) in [("host", "ed25519"), ("user", "ed25519"), ("other", "ed25519")] {
            let made =
                Command::new("ssh-keygen").args(["-q", "-t", kind, "-N", "", "-f"]).arg(path(name)).status().unwrap();
            assert!(made.success());
        }
        std::fs::copy(path("user.pub"), path("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config_text = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\nPidFile {pid}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\n",
            host = path("host").display(),
            keys = path("authorized_keys").display(),
            pid = path("sshd.pid").display(),
        );
        std::fs::write(path("sshd_config"), config_text).unwrap();
        let mut server = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(path("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let fingerprint = |name: &str| {
            let out = Command::new("ssh-keygen").arg("-lf").arg(path(name)).output().unwrap();
            String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap().to_owned()
        };
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let c = config(serde_json::json!({
            "hostname": "127.0.0.1", "port": port, "username": user.trim(), "hostKeyFingerprint": fingerprint("host.pub"),
            "sshKey": {"name": "k", "key": "id"}
        }));
        let t = template(&c).unwrap();
        let run = |fp: &str| {
            let argv = t.exec.argv(&["echo".into(), "pod-ok".into()]);
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]).env("TMPDIR", dir.path()).env("HOME", dir.path());
            for e in &t.env {
                match &e.source {
                    EnvSource::Value(v) => cmd.env(&e.name, v),
                    EnvSource::Secret(_) => cmd.env(&e.name, std::fs::read_to_string(path("user")).unwrap()),
                };
            }
            cmd.env("SSH_HOST_KEY_FINGERPRINT", fp).stdin(Stdio::null()).output().unwrap()
        };
        let mut ok = run(&fingerprint("host.pub"));
        for _ in 0..50 {
            if ok.status.success() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            ok = run(&fingerprint("host.pub"));
        }
        let refused = run(&fingerprint("other.pub"));
        let _ = server.kill();
        let _ = server.wait();
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "pod-ok");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("Host key verification failed"));
        assert!(!String::from_utf8_lossy(&refused.stdout).contains("pod-ok"));
        // The private directory is gone once ssh exits.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("ssh."))
            .collect();
        assert!(left.is_empty());
    }
}
