//! `toolkit policy check`: how a command or SQL statement is classified and what the approval
//! settings make of it, without running anything.
//!
//! With `--tool`, the tool's type picks the kind of text (bash: shell, kubectl: kubectl, SQL
//! types: SQL in the engine's dialect), and the tool's `approval.required` and its namespace's
//! `ApprovalPolicy` apply; a SQL tool with `readOnly: true` blocks anything but a read, as the
//! call pipeline does. Without it, the text is shell unless `--kind` says otherwise, and the
//! default settings apply. Exit code 0 when the call would be allowed or wait for approval, 5
//! when it would be blocked.

use serde::Serialize;
use toolkit_core::model::ApprovalRequired;
use toolkit_core::{Catalog, Error, Result, ToolRef};
use toolkit_policy::verdict::Reason;
use toolkit_policy::{Action, ApprovalSettings, Class, CommandKind, Decision, SqlDialect, classify, decide};

use crate::cli::{Cli, PolicyCheckArgs, PolicyCommand, PolicyKind};
use crate::output;

pub fn run(cli: &Cli, cmd: &PolicyCommand) -> Result<u8> {
    match cmd {
        PolicyCommand::Check(args) => check(cli, args),
    }
}

/// What `policy check` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    class: Class,
    decision: Action,
    blocked: bool,
    requires_approval: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<String>,
    kind: &'static str,
    reasons: Vec<Reason>,
}

fn check(cli: &Cli, args: &PolicyCheckArgs) -> Result<u8> {
    let text = args.command.join(" ");
    let target = match &args.tool {
        Some(name) => Some(tool_settings(cli, name)?),
        None => None,
    };
    let kind = match (args.kind, &target) {
        (Some(PolicyKind::Shell), _) => CommandKind::Shell,
        (Some(PolicyKind::Kubectl), _) => CommandKind::Kubectl,
        (Some(PolicyKind::Sql), Some(t)) => match t.kind {
            Some(CommandKind::Sql(d)) => CommandKind::Sql(d),
            _ => CommandKind::Sql(SqlDialect::Generic),
        },
        (Some(PolicyKind::Sql), None) => CommandKind::Sql(SqlDialect::Postgres),
        (None, Some(t)) => t.kind.ok_or_else(|| {
            Error::unsupported(format!(
                "tool {} is of type {}, which takes no commands or SQL; pass --kind",
                t.reference, t.type_name
            ))
        })?,
        (None, None) => CommandKind::Shell,
    };
    let verdict = classify(kind, &text);
    let (settings, approval) = match &target {
        Some(t) => (t.settings.clone(), t.approval),
        None => (ApprovalSettings::default(), ApprovalRequired::Auto),
    };
    let mut decision = decide(&verdict, &settings, approval);
    if let (CommandKind::Sql(_), Some(t)) = (kind, &target)
        && t.read_only
        && verdict.class != Class::Read
        && !decision.blocked()
    {
        decision = read_only_block(decision, &t.reference);
    }
    let mut reasons = verdict.reasons.clone();
    reasons.extend(decision.reasons.iter().filter(|r| !verdict.reasons.contains(r)).cloned());
    let report = Report {
        class: verdict.class,
        decision: decision.action,
        blocked: decision.blocked(),
        requires_approval: decision.requires_approval(),
        tool: target.as_ref().map(|t| t.reference.to_string()),
        kind: match kind {
            CommandKind::Shell => "shell",
            CommandKind::Kubectl => "kubectl",
            CommandKind::Sql(_) => "sql",
        },
        reasons,
    };
    if !output::structured(cli.output, &report)? {
        print_table(&report);
    }
    Ok(if report.blocked { 5 } else { 0 })
}

fn read_only_block(decision: Decision, tool: &ToolRef) -> Decision {
    let mut reasons = vec![Reason {
        class: decision.class,
        part: "*".into(),
        rule: "policy.read-only",
        message: format!("tool {tool} is readOnly: only a single statement that reads may run"),
    }];
    reasons.extend(decision.reasons);
    Decision { action: Action::Block, class: decision.class, reasons }
}

fn print_table(report: &Report) {
    let decision = match report.decision {
        Action::Allow => "allow",
        Action::RequireApproval => "require approval",
        Action::Block => "block",
    };
    println!("class:    {}", report.class);
    println!("decision: {decision}");
    if let Some(tool) = &report.tool {
        println!("tool:     {tool} ({})", report.kind);
    }
    let mut t = output::table(&["CLASS", "PART", "RULE", "WHY"]);
    for r in &report.reasons {
        t.add_row(vec![r.class.to_string(), output::short(&r.part, 60), r.rule.to_owned(), r.message.clone()]);
    }
    println!("{t}");
}

/// What `--tool` brings: the kind of text, the approval settings and mode, read-only.
struct ToolSettings {
    reference: ToolRef,
    type_name: &'static str,
    kind: Option<CommandKind>,
    settings: ApprovalSettings,
    approval: ApprovalRequired,
    read_only: bool,
}

fn tool_settings(cli: &Cli, name: &str) -> Result<ToolSettings> {
    let reference: ToolRef = name.parse()?;
    let catalog = Catalog::load(&cli.tools, &toolkit_runtime::registry())?;
    let loaded = catalog.get(&reference)?;
    let tool = loaded.tool.as_deref().ok_or_else(|| {
        Error::config(format!(
            "tool {reference} did not parse: {}",
            loaded.first_error().map(ToString::to_string).unwrap_or_default()
        ))
    })?;
    let spec = &tool.spec;
    // The namespace's ApprovalPolicy; with several, the first by name.
    let policy = catalog.approval_policies.iter().find(|(r, _)| r.namespace == reference.namespace);
    let settings = match policy {
        Some((policy_ref, (p, file))) => ApprovalSettings::from_spec(&p.spec)
            .map_err(|e| Error::config(format!("approvalpolicy {policy_ref} ({}): {}", file.display(), e.message())))?,
        None => ApprovalSettings::default(),
    };
    Ok(ToolSettings {
        type_name: spec.type_.as_str(),
        kind: CommandKind::for_tool_type(spec.type_),
        settings,
        approval: spec.approval.as_ref().map(|a| a.required).unwrap_or_default(),
        read_only: spec.read_only,
        reference,
    })
}
