//! The `toolkit-gateway` binary as a child process, and raw HTTP/1.1 requests to it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::Fixture;

pub const BIN: &str = env!("CARGO_BIN_EXE_toolkit-gateway");
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A gateway process serving HTTP on a free loopback port.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts the gateway on `fixture` with `extra` flags and info logs.
    pub fn start(fixture: &Fixture, extra: &[&str]) -> Self {
        Self::start_logging(fixture, extra, "info,rmcp=warn")
    }

    /// [`start`](Self::start) with the log filter `filter` (`TOOLKIT_LOG`). The listener is
    /// `127.0.0.1:0` unless `extra` has a `--listen`.
    pub fn start_logging(fixture: &Fixture, extra: &[&str], filter: &str) -> Self {
        let mut command = Command::new(BIN);
        command.arg("--tools").arg(&fixture.tools).arg("--state").arg(&fixture.state);
        Self::spawn(command, extra, filter)
    }

    /// Starts `command` (the gateway with its source and state flags) on a free loopback port
    /// with `extra` flags and the log filter `filter`, and waits until it serves.
    pub fn spawn(mut command: Command, extra: &[&str], filter: &str) -> Self {
        let listen: &[&str] = if extra.contains(&"--listen") { &[] } else { &["--listen", "127.0.0.1:0"] };
        let mut child = command
            .args(listen)
            .args(["--log-format", "json"])
            .args(extra)
            .env_remove("TOOLKIT_TOOLS")
            .env_remove("TOOLKIT_STATE")
            .env_remove("TOOLKIT_GATEWAY_TOKENS")
            .env_remove("TOOLKIT_RATE_LIMIT_REDIS")
            .env("TOOLKIT_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                    if event["message"] == "catalog loaded" {
                        let _ = tx.send(None);
                    }
                    if event["message"] == "listening"
                        && let Some(url) = event["url"].as_str()
                    {
                        let _ = tx.send(Some(url.to_owned()));
                    }
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let (mut addr, mut loaded) = (None, false);
        while addr.is_none() || !loaded {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(url)) => {
                    let authority = url.trim_start_matches("http://").trim_end_matches("/mcp");
                    addr = Some(authority.parse().unwrap());
                }
                Ok(None) => loaded = true,
                Err(_) => panic!("the gateway did not start within {START_TIMEOUT:?}:\n{}", log.lock().unwrap()),
            }
        }
        Self { child, addr: addr.unwrap(), log, reader: Some(reader) }
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.wait()
    }

    /// Waits for the exit, at most 15s.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The last lines of the log arrive with the end of stderr.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within 15s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response to [`request`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one raw HTTP/1.1 request (`Connection: close`) and reads the whole response.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status =
        line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad status {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut body = String::new();
    let _ = reader.read_to_string(&mut body);
    Response { status, headers, body }
}

/// One JSON-RPC request (`method`, `params`) to `/mcp` with the headers MCP clients send, and
/// `Authorization: Bearer TOKEN` when a token is given.
pub fn mcp_request(addr: SocketAddr, token: Option<&str>, method: &str, params: serde_json::Value) -> Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b));
    }
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    request(addr, "POST", "/mcp", &headers, &body)
}
