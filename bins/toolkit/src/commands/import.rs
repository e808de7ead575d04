//! `toolkit import`.

use std::path::PathBuf;

use toolkit_core::{ConnectorRegistry, Error, Result};

pub fn run(files: &[PathBuf], connectors: &ConnectorRegistry) -> Result<u8> {
    let mut failed = false;
    let mut out = String::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::not_found(format!("read {}", file.display())).with_source(e))?;
        match toolkit_compat::import_file(file, &text, connectors) {
            Ok((yaml, notes)) => {
                for n in notes {
                    eprintln!("note: {}: {n}", file.display());
                }
                if !out.is_empty() && !yaml.is_empty() && !out.ends_with("---\n") {
                    out.push_str("---\n");
                }
                out.push_str(&yaml);
            }
            Err(diagnostics) => {
                failed = true;
                for d in diagnostics {
                    eprintln!("error: {d}");
                }
            }
        }
    }
    if failed {
        return Ok(3);
    }
    print!("{out}");
    Ok(0)
}
