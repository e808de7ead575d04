//! Against a real OpenSSH server (`TOOLKIT_TEST_SSH_HOST`, `_PORT`, `_USER`, `_HOST_KEY`,
//! `_AUTHORIZED_KEYS`, started by `.ci/services/ssh.sh`). The tests set the user's password to a
//! canary (with `chpasswd`, so they run as root) and authorize a key they generate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;
use toolkit_connector_ssh::SshConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

/// What every test shares: the server, the canary password and the keys, set up once.
struct Fixture {
    host: String,
    port: u16,
    user: String,
    canary: String,
    /// `ssh-ed25519 AAAA...` of the server.
    host_key: String,
    fingerprint: String,
    key_pem: String,
    /// A key the server does not know.
    stranger_pem: String,
    stranger_fingerprint: String,
    dir: tempfile::TempDir,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn keygen(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "toolkit-test", "-f"]).arg(&path));
    (std::fs::read_to_string(&path).unwrap(), std::fs::read_to_string(path.with_extension("pub")).unwrap())
}

fn fingerprint_of(pub_file: &Path) -> String {
    run(Command::new("ssh-keygen").arg("-lf").arg(pub_file)).split_whitespace().nth(1).unwrap().to_owned()
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let host = toolkit_testkit::service("TOOLKIT_TEST_SSH_HOST")?;
            let port = toolkit_testkit::service("TOOLKIT_TEST_SSH_PORT")?.parse().unwrap();
            let user = toolkit_testkit::service("TOOLKIT_TEST_SSH_USER")?;
            let host_key_file = PathBuf::from(toolkit_testkit::service("TOOLKIT_TEST_SSH_HOST_KEY")?);
            let authorized = PathBuf::from(toolkit_testkit::service("TOOLKIT_TEST_SSH_AUTHORIZED_KEYS")?);
            let canary = toolkit_testkit::canary();
            let mut chpasswd = Command::new("chpasswd").stdin(std::process::Stdio::piped()).spawn().unwrap();
            use std::io::Write;
            chpasswd.stdin.take().unwrap().write_all(format!("{user}:{canary}\n").as_bytes()).unwrap();
            assert!(chpasswd.wait().unwrap().success(), "chpasswd failed (the tests run as root)");

            let dir = tempfile::tempdir().unwrap();
            let (key_pem, key_pub) = keygen(dir.path(), "id");
            let (stranger_pem, _) = keygen(dir.path(), "stranger");
            let mut file = std::fs::OpenOptions::new().append(true).open(&authorized).unwrap();
            file.write_all(key_pub.as_bytes()).unwrap();
            let host_key: String = std::fs::read_to_string(&host_key_file)
                .unwrap()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Some(Fixture {
                host,
                port,
                user,
                canary,
                host_key,
                fingerprint: fingerprint_of(&host_key_file),
                key_pem,
                stranger_pem,
                stranger_fingerprint: fingerprint_of(&dir.path().join("stranger.pub")),
                dir,
            })
        })
        .as_ref()
}

impl Fixture {
    /// A spec logging in with the key (`auth: "key"`), the password (`"password"`) or the
    /// stranger key (`"stranger"`), verified by the pinned fingerprint unless `extra` says more.
    fn spec(&self, auth: &str, extra: Value) -> Value {
        let mut config = json!({
            "hostname": self.host, "port": self.port, "username": self.user,
            "hostKeyFingerprint": self.fingerprint, "connectTimeout": "5s"
        });
        let c = config.as_object_mut().unwrap();
        match auth {
            "password" => {
                c.insert("usePassword".into(), json!(true));
                c.insert("credentialsRef".into(), json!({"name": "ssh-cred", "key": "password"}));
            }
            "stranger" => {
                c.insert("sshKey".into(), json!({"name": "ssh-cred", "key": "stranger"}));
            }
            _ => {
                c.insert("sshKey".into(), json!({"name": "ssh-cred", "key": "id"}));
            }
        }
        let mut spec = json!({"type": "ssh", "config": config});
        if let (Some(base), Value::Object(more)) = (spec.as_object_mut(), extra) {
            for (k, v) in more {
                match (base.get_mut(&k), v) {
                    (Some(Value::Object(b)), Value::Object(m)) => {
                        for (mk, mv) in m {
                            if mv.is_null() {
                                b.remove(&mk);
                            } else {
                                b.insert(mk, mv);
                            }
                        }
                    }
                    (_, v) => {
                        base.insert(k, v);
                    }
                }
            }
        }
        spec
    }

    fn secrets(&self) -> Vec<(String, String, String)> {
        vec![
            ("ssh-cred".into(), "password".into(), self.canary.clone()),
            ("ssh-cred".into(), "id".into(), self.key_pem.clone()),
            ("ssh-cred".into(), "stranger".into(), self.stranger_pem.clone()),
        ]
    }

    fn tool(&self, auth: &str, extra: Value) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(auth, extra)).unwrap();
        assert_eq!(SshConnector.validate(&spec), vec![]);
        let mut store = SecretStore::default();
        let data: BTreeMap<String, SecretString> =
            self.secrets().into_iter().map(|(_, k, v)| (k, SecretString::new(v))).collect();
        store.insert(NS, "ssh-cred", data);
        let mut tool = Tool::new("host", spec);
        tool.metadata.namespace = Some(NS.into());
        let ctx = BuildContext {
            tool: Arc::new(tool),
            namespace: NS.into(),
            name: "host".into(),
            secrets: Arc::new(store),
            config_maps: Arc::new(ConfigMaps::default()),
            tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
        };
        SshConnector.build(ctx).unwrap()
    }

    fn assert_clean(&self, text: &str) {
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
        assert!(!text.contains("PRIVATE KEY"), "a private key leaked: {text}");
    }

    async fn probe(&self, tool: &Arc<dyn ToolInstance>) -> toolkit_core::Result<toolkit_core::connector::ProbeReport> {
        let result = tool.probe().unwrap().probe().await;
        match &result {
            Ok(r) => self.assert_clean(&format!("{r:?}")),
            Err(e) => {
                self.assert_clean(&format!("{e} {e:?}"));
                assert!(!e.to_string().contains('\n'), "not one line: {e}");
            }
        }
        result
    }

    async fn call(
        &self,
        tool: &Arc<dyn ToolInstance>,
        command: &str,
        limits: CallLimits,
    ) -> toolkit_core::Result<(Value, bool)> {
        let mut arguments = Map::new();
        arguments.insert("command".into(), json!(command));
        let result = tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await;
        match &result {
            Ok(out) => self.assert_clean(&format!("{out:?}")),
            Err(e) => {
                self.assert_clean(&format!("{e} {e:?}"));
                assert!(!e.to_string().contains('\n'), "not one line: {e}");
            }
        }
        result.map(|o| (o.content, o.truncated))
    }

    fn known_hosts(&self, name: &str, lines: &[String]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path.display().to_string()
    }

    fn host_pattern(&self) -> String {
        if self.port == 22 { self.host.clone() } else { format!("[{}]:{}", self.host, self.port) }
    }
}

#[tokio::test]
async fn probe_with_a_key_reports_the_server_version() {
    let Some(fx) = fixture() else { return };
    let report = fx.probe(&fx.tool("key", json!({}))).await.unwrap();
    let version = report.server_version.unwrap();
    assert!(version.starts_with("SSH-2.0-OpenSSH_"), "{version}");
    assert_eq!(report.details["hostKey"], fx.fingerprint);
    assert_eq!(report.details["auth"], "publickey");
}

#[tokio::test]
async fn probe_with_the_password() {
    let Some(fx) = fixture() else { return };
    let report = fx.probe(&fx.tool("password", json!({}))).await.unwrap();
    assert_eq!(report.details["auth"], "password");
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_an_auth_error() {
    let Some(fx) = fixture() else { return };
    let err = fx.probe(&fx.tool("stranger", json!({}))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains(&fx.user), "{err}");
}

#[tokio::test]
async fn a_pinned_fingerprint_must_match() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("key", json!({"config": {"hostKeyFingerprint": fx.stranger_fingerprint}}));
    let err = fx.probe(&tool).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("host key verification failed"), "{text}");
    assert!(text.contains(&format!("presented {}", fx.fingerprint)), "{text}");
    assert!(text.contains(&fx.stranger_fingerprint), "{text}");
    // Calls fail closed the same way.
    let err = fx.call(&tool, "echo hi", CallLimits::default()).await.unwrap_err();
    assert!(err.to_string().contains("host key verification failed"), "{err}");
}

#[tokio::test]
async fn known_hosts_files_are_checked() {
    let Some(fx) = fixture() else { return };
    let pattern = fx.host_pattern();
    let stranger_pub = std::fs::read_to_string(fx.dir.path().join("stranger.pub")).unwrap();
    let stranger_key: String = stranger_pub.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let with = |file: &str| json!({"config": {"hostKeyFingerprint": null, "knownHostsFile": file}});

    // A plain entry among others.
    let plain = fx.known_hosts(
        "kh-plain",
        &["# comment".to_owned(), format!("other.example {}", fx.host_key), format!("{pattern} {}", fx.host_key)],
    );
    fx.probe(&fx.tool("key", with(&plain))).await.unwrap();

    // A hashed entry, as `ssh-keygen -H` writes it.
    let hashed = fx.known_hosts("kh-hashed", &[format!("{pattern} {}", fx.host_key)]);
    run(Command::new("ssh-keygen").args(["-q", "-H", "-f", &hashed]));
    let text = std::fs::read_to_string(&hashed).unwrap();
    assert!(text.starts_with("|1|") && !text.contains(&pattern), "{text}");
    fx.probe(&fx.tool("password", with(&hashed))).await.unwrap();

    // Another key recorded for the host.
    let changed = fx.known_hosts("kh-changed", &[format!("{pattern} {stranger_key}")]);
    let err = fx.probe(&fx.tool("key", with(&changed))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains("host key verification failed"), "{err}");
    assert!(err.to_string().contains(&fx.fingerprint), "{err}");

    // No entry for the host: no trust on first use.
    let none = fx.known_hosts("kh-none", &[format!("other.example {}", fx.host_key)]);
    let err = fx.probe(&fx.tool("key", with(&none))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains("has no key for"), "{err}");

    // A missing file.
    let err = fx.probe(&fx.tool("key", with("/nonexistent/known_hosts"))).await.unwrap_err();
    assert!(err.to_string().contains("host key verification failed"), "{err}");

    // With both, both must agree.
    let both = json!({"config": {"hostKeyFingerprint": fx.stranger_fingerprint, "knownHostsFile": plain}});
    assert_eq!(fx.probe(&fx.tool("key", both)).await.unwrap_err().kind(), ErrorKind::Unreachable);
    let both = json!({"config": {"knownHostsFile": plain}});
    fx.probe(&fx.tool("key", both)).await.unwrap();
}

#[tokio::test]
async fn commands_return_stdout_stderr_and_the_exit_code() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("key", json!({}));
    let (v, truncated) = fx.call(&tool, "echo out; echo err >&2; exit 3", CallLimits::default()).await.unwrap();
    assert_eq!(v, json!({"stdout": "out\n", "stderr": "err\n", "exit_code": 3, "truncated": false}));
    assert!(!truncated);
    let (v, _) = fx.call(&tool, "whoami", CallLimits::default()).await.unwrap();
    assert_eq!(v["stdout"], format!("{}\n", fx.user));
    assert_eq!(v["exit_code"], 0);
    // Concurrent calls share the connection, each on a channel of its own.
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let tool = tool.clone();
            tokio::spawn(async move { fx.call(&tool, &format!("echo {i}"), CallLimits::default()).await.unwrap().0 })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap()["stdout"], format!("{i}\n"));
    }
    let err = fx.call(&tool, "  ", CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn output_is_capped_with_a_marker() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("key", json!({}));
    let limits = CallLimits { max_output_bytes: 100, ..CallLimits::default() };
    let (v, truncated) = fx.call(&tool, "head -c 5000 /dev/zero | tr '\\0' x; exit 4", limits).await.unwrap();
    assert!(truncated);
    assert_eq!(v["truncated"], true);
    let stdout = v["stdout"].as_str().unwrap();
    assert!(stdout.starts_with(&"x".repeat(100)) && !stdout.starts_with(&"x".repeat(101)), "{stdout}");
    assert!(stdout.contains("[output truncated"), "{stdout}");
    assert_eq!(v["exit_code"], 4);
    // Endless output stops soon after the cap, not at the call's timeout.
    let started = Instant::now();
    let (v, truncated) = fx.call(&tool, "yes", limits).await.unwrap();
    assert!(truncated && v["exit_code"].is_null(), "{v}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_call_timeout_is_enforced() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("key", json!({}));
    let limits = CallLimits { timeout: Duration::from_secs(1), ..CallLimits::default() };
    let started = Instant::now();
    let err = fx.call(&tool, "sleep 5", limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // The connection is still good for the next call.
    let (v, _) = fx.call(&tool, "echo after", CallLimits::default()).await.unwrap();
    assert_eq!(v["stdout"], "after\n");
}

#[tokio::test]
async fn a_dropped_connection_is_made_again() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("password", json!({}));
    fx.call(&tool, "true", CallLimits::default()).await.unwrap();
    // The parent of the remote shell is the sshd process of this connection.
    let _ = fx.call(&tool, "kill $PPID", CallLimits { timeout: Duration::from_secs(3), ..CallLimits::default() }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (v, _) = fx.call(&tool, "echo again", CallLimits::default()).await.unwrap();
    assert_eq!(v["stdout"], "again\n");
}

#[tokio::test]
async fn read_only_tools_refuse_writes() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("key", json!({"readOnly": true}));
    let marker = format!("/tmp/{}", toolkit_testkit::unique_name("tk_ssh"));
    for cmd in [format!("rm -rf {marker}"), format!("touch {marker}"), format!("echo x > {marker}")] {
        let err = fx.call(&tool, &cmd, CallLimits::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{cmd}: {err}");
        assert!(err.to_string().contains("not read"), "{err}");
    }
    assert!(!Path::new(&marker).exists());
    let (v, _) = fx.call(&tool, "ls / | head -3", CallLimits::default()).await.unwrap();
    assert_eq!(v["exit_code"], 0);
    // Sessions of the tool refuse them too.
    let session = tool.open_session().await.unwrap();
    let err = session.exec(&["touch".into(), marker.clone()], &CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    session.close().await;
    assert!(!Path::new(&marker).exists());
}

#[tokio::test]
async fn sessions_give_the_native_client_what_it_needs() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("key", json!({}));
    let session = tool.open_session().await.unwrap();
    let env: BTreeMap<String, String> =
        session.env().into_iter().map(|e| (e.name, e.value.expose().to_owned())).collect();
    fx.assert_clean(&format!("{:?}", session.env()));
    assert_eq!(env["SSH_HOST"], fx.host);
    assert_eq!(env["SSH_PORT"], fx.port.to_string());
    assert_eq!(env["SSH_USER"], fx.user);
    let key_file = PathBuf::from(&env["SSH_KEY_FILE"]);
    let known_hosts = PathBuf::from(&env["SSH_KNOWN_HOSTS"]);
    use std::os::unix::fs::PermissionsExt;
    for f in [&key_file, &known_hosts] {
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
    }
    assert_eq!(std::fs::metadata(key_file.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim_end(), fx.key_pem.trim_end());
    assert!(std::fs::read_to_string(&known_hosts).unwrap().contains(&fx.host_key));

    // The native client logs in with exactly that argv, checking the host key strictly.
    let argv = session.client().unwrap();
    assert!(argv.contains(&"StrictHostKeyChecking=yes".to_owned()), "{argv:?}");
    let out = run(Command::new(&argv[0]).args(&argv[1..]).args(["-o", "BatchMode=yes", "echo", "native"]));
    assert_eq!(out, "native\n");

    // exec runs through the session's connection; several words are quoted.
    let out = session.exec(&["echo".into(), "a  b".into()], &CallLimits::default()).await.unwrap();
    assert_eq!(out.content["stdout"], "a  b\n");

    // A forwarded port reaches what the server reaches: here the server itself.
    let forward = toolkit_forward(fx).await;
    let mut socket = tokio::net::TcpStream::connect(forward.local_addr()).await.unwrap();
    let mut buf = [0u8; 8];
    socket.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"SSH-2.0-");

    session.close().await;
    assert!(!key_file.exists() && !known_hosts.exists());
    assert!(session.exec(&["true".into()], &CallLimits::default()).await.is_err());
}

async fn toolkit_forward(fx: &Fixture) -> toolkit_connector_ssh::Forward {
    let spec: ToolSpec = serde_json::from_value(fx.spec("key", json!({}))).unwrap();
    let mut store = SecretStore::default();
    store.insert(NS, "ssh-cred", BTreeMap::from([("id".to_owned(), SecretString::new(fx.key_pem.clone()))]));
    let ctx = BuildContext {
        tool: Arc::new(Tool::new("fwd", spec)),
        namespace: NS.into(),
        name: "fwd".into(),
        secrets: Arc::new(store),
        config_maps: Arc::new(ConfigMaps::default()),
        tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
    };
    let tool = SshConnector.build_tool(ctx).unwrap();
    let session = tool.open_ssh_session().await.unwrap();
    let forward = session.forward(&fx.host, fx.port).await.unwrap();
    // The forward holds the connection on its own.
    drop(session);
    forward
}

#[tokio::test]
async fn password_sessions_carry_the_password_as_a_secret() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool("password", json!({}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let pass = env.iter().find(|e| e.name == "SSHPASS").unwrap();
    assert_eq!(pass.value.to_string(), "[redacted]");
    assert_eq!(pass.value.expose(), fx.canary);
    assert!(!env.iter().any(|e| e.name == "SSH_KEY_FILE"));
    fx.assert_clean(&format!("{env:?} {:?}", session.client()));
    session.close().await;
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    toolkit_testkit::behaviour::Suite {
        connector: &SshConnector,
        spec: fx.spec("password", json!({})),
        secrets: fx.secrets(),
        canary: fx.canary.clone(),
        password: Some(("ssh-cred".into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: None,
        call: None,
    }
    .run()
    .await;
}
