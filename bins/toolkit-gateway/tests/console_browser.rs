//! The web console in a real browser (`tests/e2e/console_browser.py`: headless Chromium driven
//! by Selenium, the official MCP Python SDK as the agent): a request appears while the agent
//! waits, is approved and the call succeeds; another is rejected with a reason the agent reads;
//! the agent cannot approve its own call; the audit page filters to the tool. Screenshots of
//! every page at 1280 and 390 pixels wide are kept in `console-screenshots` under the target's
//! test folder, and no page may be wider than the window.
//!
//! Needs Debian's `chromium` and `chromium-driver` and PyPI `selenium` (`.ci/services.sh`
//! installs them); without them the test is skipped with the reason, except under CI.

mod common;

use std::path::Path;
use std::process::Command;

use common::process::Running;
use common::{Fixture, GUARDED, python_sdk};
use sha2::{Digest as _, Sha256};

const OPS: &str = "ops-token-0123456789abcdef";
const AGENT: &str = "agent-token-0123456789abcdef";

fn sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether Chromium, chromedriver and Selenium are here; says why not (a failure under CI).
fn browser() -> bool {
    let selenium = Command::new("python3").args(["-c", "import selenium"]).output().is_ok_and(|o| o.status.success());
    let reason = match (Path::new("/usr/bin/chromium").exists(), Path::new("/usr/bin/chromedriver").exists(), selenium)
    {
        (true, true, true) => return true,
        (false, _, _) | (_, false, _) => {
            "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        }
        _ => "Selenium is not installed (pip install selenium)",
    };
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{reason}; .ci/services.sh installs them");
    }
    eprintln!("skipped: {reason}");
    false
}

#[test]
fn approve_and_reject_in_a_browser() {
    if !browser() || !python_sdk() {
        return;
    }
    let fixture = Fixture::new();
    fixture.write("guarded.yaml", GUARDED);
    let tokens = fixture.tools.parent().unwrap().join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "tokens:\n  - name: ops\n    tokenSha256: {}\n  - name: agent\n    tokenSha256: {}\n",
            sha256(OPS),
            sha256(AGENT)
        ),
    )
    .unwrap();
    let tokens = tokens.to_string_lossy().into_owned();
    let gateway = Running::start(&fixture, &["--tokens", &tokens, "--approver", "ops", "--approver", "agent"]);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let _ = std::fs::remove_dir_all(&out);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/console_browser.py");
    let url = format!("http://{}", gateway.addr);
    let run = Command::new("python3")
        .arg(script)
        .args(["--url", &url, "--ops", OPS, "--agent", AGENT, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "browser test failed:\n{stdout}\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&run.stderr),
        gateway.log()
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let shots = report["screenshots"].as_array().unwrap();
    assert!(shots.len() >= 12, "{shots:?}");
    for shot in shots {
        let png = std::fs::read(out.join(shot.as_str().unwrap())).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 2000, "{shot} is not a screenshot");
    }
    assert!(!gateway.log().contains(OPS) && !gateway.log().contains(AGENT), "a token is in the log");
}
