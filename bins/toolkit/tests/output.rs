//! What a person sees on the terminal, from the built binary: errors that name the tool once,
//! logs of toolkit only unless `-v`, no colour codes off a terminal, and `tool probe --all`
//! rows streamed under a progress line on a terminal (a pseudo-terminal from `script`), but a
//! plain table, in catalog order, when piped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
    tools: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        Self { dir, tools }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.tools.join(name), text).unwrap();
    }

    fn args(&self) -> Vec<String> {
        let state = self.dir.path().join("state");
        ["--tools", &self.tools.display().to_string(), "--state", &state.display().to_string()]
            .map(String::from)
            .to_vec()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_toolkit"))
            .args(self.args())
            .args(args)
            .env_remove("TOOLKIT_LOG")
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .output()
            .unwrap()
    }
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn tool(name: &str, type_and_settings: &str) -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: {name}, namespace: bars}}\nspec:\n  \
         description: {name}\n{type_and_settings}"
    )
}

/// An HTTP tool whose probe waits on a listener that never answers, until its 1 s timeout.
fn slow_http(name: &str, listener: &TcpListener) -> String {
    let addr = listener.local_addr().unwrap();
    tool(name, &format!("  type: http\n  http: {{url: 'http://{addr}/'}}\n  probe: {{timeout: 1s}}\n"))
}

fn sqlite(name: &str, path: &Path) -> String {
    tool(name, &format!("  type: sqlite\n  config: {{path: '{}'}}\n", path.display()))
}

fn demo_db(env: &Env) -> PathBuf {
    let dst = env.dir.path().join("demo.db");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/demo.db"), &dst).unwrap();
    dst
}

#[test]
fn a_missing_sqlite_file_names_the_tool_once() {
    let env = Env::new();
    env.write("bar.yaml", &sqlite("bar-lite", &env.dir.path().join("missing.db")));
    for args in [&["tool", "exec", "bars/bar-lite", "--", "select 1"][..], &["tool", "probe", "bars/bar-lite"]] {
        let out = env.run(args);
        let (stdout, stderr) = text(&out);
        let all = stdout + &stderr;
        assert_ne!(out.status.code(), Some(0), "{args:?}: {all}");
        assert!(all.contains("missing.db"), "{args:?}: {all}");
        assert_eq!(all.matches("tool: bars/bar-lite").count(), 1, "{args:?}: {all}");
    }
}

#[test]
fn logs_show_toolkit_only_unless_verbose_and_no_colour_when_piped() {
    let env = Env::new();
    // An MCP server nobody listens for: rmcp logs at error level that its transport closed.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    env.write(
        "gone.yaml",
        &tool("gone", &format!("  type: mcp\n  mcp: {{url: 'http://127.0.0.1:{port}/mcp', toolName: x}}\n")),
    );
    let out = env.run(&["tool", "probe", "--all"]);
    let (stdout, quiet) = text(&out);
    assert!(stdout.contains("bars/gone"), "{stdout}");
    assert!(!quiet.contains("ERROR") && !quiet.contains("WARN"), "driver logs without -v:\n{quiet}");
    let out = env.run(&["-v", "tool", "probe", "--all"]);
    let (_, verbose) = text(&out);
    assert!(verbose.contains("ERROR") || verbose.contains("WARN"), "no driver logs with -v:\n{verbose}");
    assert!(!verbose.contains('\u{1b}'), "colour codes off a terminal:\n{verbose:?}");
}

#[test]
fn probe_all_piped_is_one_table_in_catalog_order_and_json_is_plain() {
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    env.write("a.yaml", &slow_http("a-slow", &listener));
    env.write("b.yaml", &sqlite("b-fast", &demo_db(&env)));
    let out = env.run(&["tool", "probe", "--all"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("TOOL") && lines[0].contains("SERVER VERSION"), "{stdout}");
    // The fast probe finishes first, but the table keeps catalog order.
    assert!(lines[1].contains("bars/a-slow") && lines[2].contains("bars/b-fast"), "{stdout}");
    assert!(!stderr.contains("probed") && !stderr.contains('\r'), "progress when piped: {stderr:?}");

    let out = env.run(&["tool", "probe", "--all", "-o", "json"]);
    let (stdout, stderr) = text(&out);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn probe_all_on_a_terminal_streams_rows_under_a_progress_line() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed, so no pseudo-terminal can be made");
        return;
    }
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    env.write("a.yaml", &slow_http("a-slow", &listener));
    env.write("b.yaml", &sqlite("b-fast", &demo_db(&env)));
    let mut line = vec![env!("CARGO_BIN_EXE_toolkit").to_owned()];
    line.extend(env.args());
    line.extend(["tool", "probe", "--all"].map(String::from));
    let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
    // The pseudo-terminal has no size of its own when the tests run without a terminal.
    let out = Command::new("script")
        .args(["-qfec", &format!("stty cols 160 rows 40; {}", quoted.join(" ")), "/dev/null"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("waiting for bars/a-slow"), "no progress line naming the slow probe:\n{screen:?}");
    let fast = screen.find("bars/b-fast").expect("fast row");
    let slow = screen.rfind("bars/a-slow").expect("slow row");
    assert!(fast < slow, "rows not printed as probes finish:\n{screen:?}");
}
