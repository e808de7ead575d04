//! `toolkit audit`.

use serde::Serialize;
use toolkit_core::Result;
use toolkit_state::{AuditFilter, AuditRecord, Decision, Outcome, StateStore};

use crate::cli::{AuditArgs, Cli};
use crate::output;

pub async fn run(cli: &Cli, args: &AuditArgs) -> Result<u8> {
    let state = StateStore::open_path(&cli.state).await?;
    let tool = args.tool.as_deref().map(super::tool_ref).transpose()?;
    let records = state.audit(&AuditFilter { tool, limit: Some(args.limit), ..AuditFilter::default() }).await?;
    let views: Vec<View<'_>> = records.iter().map(View::of).collect();
    if !output::structured(cli.output, &views)? {
        let mut t = output::table(&["TIME", "CALLER", "TOOL", "OP", "DECISION", "DURATION", "OUTCOME", "ERROR"]);
        for r in &records {
            t.add_row(vec![
                r.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.caller.clone(),
                r.tool.to_string(),
                r.operation.clone(),
                r.decision.to_string(),
                output::ms(r.duration_ms),
                match r.outcome {
                    Outcome::Ok => "ok".into(),
                    Outcome::Error => format!("error ({})", r.error_kind.as_deref().unwrap_or("?")),
                },
                r.error.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
    }
    state.close().await;
    Ok(0)
}

/// A record as printed: the decision as its one-line text (what scripts match on), and the
/// typed decision beside it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct View<'a> {
    #[serde(flatten)]
    record: &'a AuditRecord,
    decision_detail: &'a Decision,
}

impl<'a> View<'a> {
    fn of(record: &'a AuditRecord) -> Self {
        Self { record, decision_detail: &record.decision }
    }
}
