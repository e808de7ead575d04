//! A Kubernetes API for end-to-end tests: the emulator of `.ci/kube-apiserver` started on a
//! port of its own, a kubeconfig for it, and real kubectl to apply and read objects.
//!
//! Needs `TOOLKIT_TEST_KUBE_EMULATOR` and `TOOLKIT_TEST_KUBECTL` (set by `.ci/services.sh`);
//! [`Cluster::from_env`] skips (or, under CI, fails) without them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A child process killed when dropped, however the test ends.
#[derive(Debug)]
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the tests run under CI, where a missing service fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips the test with `why` (fails under CI).
///
/// # Panics
/// Under CI.
pub fn skip(why: &str) {
    assert!(!in_ci(), "{why}");
    eprintln!("skipped: {why}");
}

/// An emulated API server and the kubectl that talks to it.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    kubectl: String,
    emulator: String,
    port: String,
    api: Option<Running>,
}

impl Cluster {
    /// Starts the emulator named by the environment, keeping its files in `dir`; `None` after
    /// saying why the test is skipped.
    pub fn from_env(dir: &Path) -> Option<Self> {
        let emulator = crate::service("TOOLKIT_TEST_KUBE_EMULATOR")?;
        let kubectl = crate::service("TOOLKIT_TEST_KUBECTL")?;
        match Self::start(&emulator, kubectl, dir) {
            Ok(c) => Some(c),
            Err(why) => {
                skip(&why);
                None
            }
        }
    }

    /// Starts the emulator on a port of its own and writes a kubeconfig for it.
    ///
    /// # Errors
    /// When the emulator does not start.
    pub fn start(emulator: &str, kubectl: String, dir: &Path) -> Result<Self, String> {
        let (api, port) = Self::spawn(emulator, dir, "0")?;
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
             users:\n- name: tester\n  user: {{}}\ncontexts:\n- name: emulator\n  context: {{cluster: emulator, user: tester, namespace: default}}\n\
             current-context: emulator\n"
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).map_err(|e| e.to_string())?;
        Ok(Self { dir: dir.to_owned(), kubectl, emulator: emulator.to_owned(), port, api: Some(api) })
    }

    /// The kubeconfig file that reaches the emulator (for `KUBECONFIG`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The emulator's address, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The kubectl binary.
    pub fn kubectl_bin(&self) -> &str {
        &self.kubectl
    }

    /// The folder of the emulator's files: `requests.jsonl` (every request), `apiserver.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the emulator (its state goes with it) for `down`, then starts a new one on the
    /// same port.
    ///
    /// # Panics
    /// When it does not restart within 20 seconds.
    pub fn restart(&mut self, down: Duration) {
        drop(self.api.take());
        std::thread::sleep(down);
        let started = Instant::now();
        loop {
            match Self::spawn(&self.emulator, &self.dir, &self.port) {
                Ok((api, _)) => break self.api = Some(api),
                // The port may linger for a moment.
                Err(why) if started.elapsed() < Duration::from_secs(20) => {
                    eprintln!("restarting the emulator: {why}");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(why) => panic!("the emulator did not restart: {why}"),
            }
        }
    }

    /// Starts the emulator on `port` (`0`: any) and returns it with the port it listens on.
    fn spawn(emulator: &str, dir: &Path, port: &str) -> Result<(Running, String), String> {
        let port_file = dir.join("port");
        let _ = std::fs::remove_file(&port_file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("apiserver.log"))
            .map_err(|e| e.to_string())?;
        let api = Command::new("python3")
            .arg(emulator)
            .args(["--port", port, "--port-file"])
            .arg(&port_file)
            .arg("--requests")
            .arg(dir.join("requests.jsonl"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("python3 could not start the emulator: {e}"))?;
        let mut api = Running(api);
        let started = Instant::now();
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p;
            }
            if let Ok(Some(status)) = api.0.try_wait() {
                let log = std::fs::read_to_string(dir.join("apiserver.log")).unwrap_or_default();
                return Err(format!("the emulator exited ({status}); is aiohttp installed? {log}"));
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("the emulator did not start within 20s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        Ok((api, port))
    }

    /// Runs kubectl with `args` and returns its output.
    ///
    /// # Panics
    /// When kubectl fails.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new(&self.kubectl)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("KUBECACHEDIR", self.dir.join("kube-cache"))
            .output()
            .expect("run kubectl");
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `kubectl apply` of a YAML text (the emulator serves no OpenAPI, hence no client-side
    /// validation).
    ///
    /// # Panics
    /// When kubectl fails.
    pub fn apply(&self, yaml: &str) {
        static APPLIED: AtomicUsize = AtomicUsize::new(0);
        let file = self.dir.join(format!("apply-{}.yaml", APPLIED.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&file, yaml).unwrap();
        self.kubectl(&["apply", "--validate=false", "-f", file.to_str().unwrap()]);
    }

    /// Applies toolkit's CRDs (`deploy/crds.yaml`).
    ///
    /// # Panics
    /// When kubectl fails.
    pub fn apply_crds(&self) {
        let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds.yaml");
        self.kubectl(&["apply", "--validate=false", "-f", crds.to_str().unwrap()]);
    }

    /// kubectl's JSON output for `args`.
    ///
    /// # Panics
    /// When kubectl fails or prints something else.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl(&args)).unwrap()
    }

    /// The Tool `name` of the default namespace.
    pub fn tool(&self, name: &str) -> Value {
        self.json(&["get", "tool", name])
    }
}

/// Polls `check` until it is `Some`, for up to 30 seconds.
///
/// # Panics
/// When 30 seconds pass.
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The condition `type_` of an object's status, or `null`.
pub fn condition(object: &Value, type_: &str) -> Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .cloned()
        .unwrap_or(Value::Null)
}

/// A `Tool` of the default namespace named `name` whose spec is the YAML lines `spec` (indented
/// two spaces), ending with a document separator.
pub fn tool_manifest(name: &str, spec: &str) -> String {
    format!("apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: {name}}}\nspec:\n{spec}\n---\n")
}

/// A `Secret` of the default namespace named `name` holding `key: value`.
pub fn secret_manifest(name: &str, key: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData: {{{key}: \"{value}\"}}\n")
}
