//! The checked-in CRDs (`deploy/crds.yaml`) are what `toolkit-operator crdgen` prints.

use std::path::Path;
use std::process::Command;

#[test]
fn checked_in_crds_match_the_types() {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("crdgen").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        generated == checked_in,
        "deploy/crds.yaml is stale; regenerate it: cargo run -p toolkit-operator -- crdgen > deploy/crds.yaml"
    );
}

#[test]
fn unknown_commands_exit_with_unsupported() {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("reconcile").output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not built yet"));
}
