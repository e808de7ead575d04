//! What a person sees on the terminal, from the built binary: errors that name the tool once,
//! logs of toolkit only unless `-v`, and no colour codes off a terminal.

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

fn sqlite(name: &str, path: &Path) -> String {
    tool(name, &format!("  type: sqlite\n  config: {{path: '{}'}}\n", path.display()))
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
