//! Shared setup of the benchmarks: a folder of manifests in a temporary directory.

use std::path::PathBuf;

/// A temporary tools folder with `count` builtin noop tools and a state directory.
pub fn noop_tools(count: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools).expect("tools dir");
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!(
            "---\napiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: echo-{i}}}\nspec:\n  type: builtin\n  description: echoes\n  builtin: {{name: noop}}\n  inputSchema: {{type: object, properties: {{message: {{type: string}}}}, required: [message]}}\n"
        ));
    }
    std::fs::write(tools.join("tools.yaml"), text).expect("write tools");
    let state = dir.path().join("state");
    (dir, tools, state)
}
