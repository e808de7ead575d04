//! `toolkit approvals ...`: calls waiting for a person, and deciding them. The decider is
//! `local:USER`; a call cannot be decided by the caller that made it.

use toolkit_core::Result;
use toolkit_runtime::{Caller, decide_approval};
use toolkit_state::{ApprovalRecord, StateStore};

use crate::cli::{ApprovalsCommand, Cli};
use crate::output;

pub async fn run(cli: &Cli, cmd: &ApprovalsCommand) -> Result<u8> {
    let state = StateStore::open_path(&cli.state).await?;
    let result = match cmd {
        ApprovalsCommand::List { all } => list(cli, &state, *all).await,
        ApprovalsCommand::Approve { id } => decide(cli, &state, *id, true, None).await,
        ApprovalsCommand::Reject { id, reason } => decide(cli, &state, *id, false, reason.as_deref()).await,
    };
    state.close().await;
    result
}

async fn list(cli: &Cli, state: &StateStore, all: bool) -> Result<u8> {
    let records = state.approvals(all).await?;
    if output::structured(cli.output, &records)? {
        return Ok(0);
    }
    if records.is_empty() {
        println!("{}", if all { "no approval requests" } else { "no calls wait for approval" });
        return Ok(0);
    }
    let mut t = output::table(&["ID", "TIME", "TOOL", "CALLER", "CLASS", "STATE", "ARGUMENTS", "CALL", "WHY"]);
    for r in &records {
        t.add_row(vec![
            r.id.to_string(),
            r.time.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.tool.to_string(),
            r.caller.clone(),
            r.class.clone(),
            state_cell(r),
            output::short(&r.arguments.to_string(), 60),
            // The start of the hash of what exactly was asked, to compare with the console's.
            r.call_hash.as_deref().map_or_else(|| "-".to_owned(), |h| h.chars().take(12).collect()),
            output::short(&r.reasons.join("; "), 80),
        ]);
    }
    println!("{t}");
    Ok(0)
}

fn state_cell(r: &ApprovalRecord) -> String {
    let state = serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    match (&r.decided_by, &r.reason) {
        (Some(by), Some(why)) => format!("{state} by {by}: {why}"),
        (Some(by), None) => format!("{state} by {by}"),
        _ => state,
    }
}

async fn decide(cli: &Cli, state: &StateStore, id: i64, approve: bool, reason: Option<&str>) -> Result<u8> {
    let me = Caller::local();
    let record = decide_approval(state, id, &me, approve, reason).await?;
    if !output::structured(cli.output, &record)? {
        println!(
            "{} {id}: {} by {} ({})",
            if approve { "approved" } else { "rejected" },
            record.tool,
            me.id,
            record.caller
        );
    }
    Ok(0)
}
