//! `toolkit tool probe NAME | --all`.
//!
//! Probes run several at once. When a person watches (stdout and stderr are terminals, table
//! output), each row is printed as its probe finishes, under a progress line on stderr that
//! counts what is done and names the probes still running, oldest first; otherwise nothing is
//! printed until the end, and the rows come in catalog order.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use comfy_table::{ColumnConstraint, Table, Width};
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use toolkit_core::{ErrorKind, Result, ToolRef};
use toolkit_runtime::{PROBE_CONCURRENCY, ProbeOutcome, Runtime};

use crate::cli::{Cli, Format};
use crate::{exit_code, output};

const HEADER: [&str; 5] = ["TOOL", "PHASE", "LATENCY", "SERVER VERSION", "ERROR"];
/// Server versions are cut to this many characters in the table.
const VERSION_CHARS: usize = 40;
/// The widths of PHASE, LATENCY and SERVER VERSION when rows are printed one by one.
const STREAMED_WIDTHS: [u16; 3] = [8, 8, 24];

pub async fn run(cli: &Cli, rt: &Runtime, name: Option<&str>, all: bool) -> Result<u8> {
    let (results, shown) = if all {
        probe_targets(cli, rt).await
    } else {
        let reference = super::tool_ref(name.unwrap_or_default())?;
        let out = rt.probe(&reference).await?;
        (vec![(reference, Ok(out))], false)
    };
    if !shown {
        print(cli, &results)?;
    }
    Ok(results.iter().map(|(_, r)| code(r)).max().unwrap_or(0))
}

type Outcomes = Vec<(ToolRef, Result<ProbeOutcome>)>;

/// Probes every target, showing progress when a person watches; says whether the rows are
/// printed already.
async fn probe_targets(cli: &Cli, rt: &Runtime) -> (Outcomes, bool) {
    let targets = rt.probe_targets();
    let watched = cli.output == Format::Table && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let live = watched.then(|| Live::new(&targets));
    let mut probes = futures::stream::iter(targets.iter().cloned())
        .map(|reference| {
            let live = live.as_ref();
            async move {
                if let Some(live) = live {
                    live.started(&reference);
                }
                let out = rt.probe(&reference).await;
                (reference, out)
            }
        })
        .buffer_unordered(PROBE_CONCURRENCY);
    let mut results = Vec::with_capacity(targets.len());
    while let Some((reference, out)) = probes.next().await {
        if let Some(live) = &live {
            live.finished(&reference, &out);
        }
        results.push((reference, out));
    }
    drop(probes);
    if let Some(live) = live {
        live.done();
        return (results, true);
    }
    results.sort_by_key(|(r, _)| targets.iter().position(|t| t == r));
    (results, false)
}

/// The exit code a probe's outcome asks for (0 when it succeeded).
fn code(r: &Result<ProbeOutcome>) -> u8 {
    match r {
        Ok(o) if o.probe.ok => 0,
        Ok(o) => exit_code(o.probe.error_kind.as_deref().map_or(ErrorKind::Upstream, kind_from_str)),
        Err(e) => exit_code(e.kind()),
    }
}

fn print(cli: &Cli, results: &Outcomes) -> Result<()> {
    let json: Vec<serde_json::Value> = results
        .iter()
        .map(|(reference, r)| match r {
            Ok(o) => serde_json::to_value(o).unwrap_or_default(),
            Err(e) => serde_json::json!({"tool": reference, "error": e.to_string(), "errorKind": e.kind().as_str()}),
        })
        .collect();
    if output::structured(cli.output, &json)? {
        return Ok(());
    }
    let mut t = output::table(&HEADER);
    for (reference, r) in results {
        t.add_row(row(reference, r, VERSION_CHARS));
    }
    println!("{t}");
    Ok(())
}

/// One table row.
fn row(reference: &ToolRef, r: &Result<ProbeOutcome>, version_chars: usize) -> Vec<String> {
    match r {
        Ok(o) => vec![
            reference.to_string(),
            o.phase.to_string(),
            output::ms(o.probe.latency_ms),
            output::short(o.probe.server_version.as_deref().unwrap_or_default(), version_chars),
            match (&o.probe.error_kind, &o.probe.error) {
                (Some(k), Some(e)) => format!("{k}: {e}"),
                _ => String::new(),
            },
        ],
        Err(e) => vec![reference.to_string(), "-".into(), "-".into(), String::new(), format!("{}: {e}", e.kind())],
    }
}

fn kind_from_str(s: &str) -> ErrorKind {
    match s {
        "config" => ErrorKind::Config,
        "auth" => ErrorKind::Auth,
        "unreachable" => ErrorKind::Unreachable,
        "timeout" => ErrorKind::Timeout,
        "denied" => ErrorKind::Denied,
        "invalid_input" => ErrorKind::InvalidInput,
        "unsupported" => ErrorKind::Unsupported,
        "not_found" => ErrorKind::NotFound,
        "internal" => ErrorKind::Internal,
        _ => ErrorKind::Upstream,
    }
}

/// Rows printed as probes finish, under a progress line.
struct Live {
    bar: ProgressBar,
    /// Probes running, oldest first.
    running: Mutex<Vec<ToolRef>>,
    /// Every row is laid out with these column widths, so that rows printed one at a time line up.
    constraints: Vec<ColumnConstraint>,
}

impl Live {
    fn new(targets: &[ToolRef]) -> Self {
        let tool_width = targets.iter().map(|t| t.to_string().chars().count()).chain([HEADER[0].len()]).max();
        // A fixed width counts the cell's padding, one space either side.
        let constraints = std::iter::once(tool_width.unwrap_or_default())
            .chain(STREAMED_WIDTHS.map(usize::from))
            .map(|w| ColumnConstraint::Absolute(Width::Fixed(u16::try_from(w + 2).unwrap_or(u16::MAX))))
            .collect();
        let bar = ProgressBar::new(targets.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{spinner} probed {pos}/{len} in {elapsed} {wide_msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        let live = Self { bar, running: Mutex::new(Vec::new()), constraints };
        live.print(&HEADER.map(String::from));
        live
    }

    fn started(&self, reference: &ToolRef) {
        let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        running.push(reference.clone());
        self.bar.set_message(waiting_for(&running));
    }

    fn finished(&self, reference: &ToolRef, out: &Result<ProbeOutcome>) {
        let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        running.retain(|r| r != reference);
        self.bar.set_message(waiting_for(&running));
        drop(running);
        self.print(&row(reference, out, usize::from(STREAMED_WIDTHS[2])));
        self.bar.inc(1);
    }

    fn done(self) {
        self.bar.finish_and_clear();
    }

    /// Prints one row above the progress line.
    fn print(&self, cells: &[String]) {
        let mut t = Table::new();
        t.load_preset(comfy_table::presets::NOTHING)
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .add_row(cells);
        t.set_constraints(self.constraints.clone());
        self.bar.suspend(|| println!("{t}"));
    }
}

/// The progress line's message: the probes still running, oldest first.
fn waiting_for(running: &[ToolRef]) -> String {
    if running.is_empty() {
        return String::new();
    }
    let names: Vec<String> = running.iter().map(ToString::to_string).collect();
    format!("· waiting for {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::Error;

    #[test]
    fn waiting_for_names_the_oldest_first() {
        let running = [ToolRef::new("default", "ssh-host"), ToolRef::new("prod", "pg")];
        assert_eq!(waiting_for(&running), "· waiting for default/ssh-host, prod/pg");
        assert_eq!(waiting_for(&[]), "");
    }

    #[test]
    fn failed_probes_set_the_exit_code() {
        let err: Result<ProbeOutcome> = Err(Error::new(ErrorKind::Unreachable, "connect"));
        assert_eq!(code(&err), 6);
    }
}
