//! `toolkit policy check`: how a command or SQL statement is classified and what the approval
//! settings make of it, without running anything.
//!
//! With `--tool`, the tool's connector classifies the text as the pipeline does (bash: shell,
//! kubectl: kubectl, SQL types: SQL in the engine's dialect), and the tool's `approval.required`
//! and its namespace's `ApprovalPolicy` apply; a tool with `readOnly: true` blocks anything but a
//! read, as the pipeline's policy step does. Without it, the text is shell unless `--kind` says
//! otherwise, and the default settings apply. Exit code 0 when the call would be allowed or wait
//! for approval, 5 when it would be blocked.
//!
//! An `unknown` is explained: the options no table lists are named (`unknownOptions`), so the
//! person can see which option kept the command from being a read.

use std::sync::Arc;

use serde::Serialize;
use toolkit_core::connector::{BuildContext, NoTools};
use toolkit_core::model::ApprovalRequired;
use toolkit_core::{Catalog, Error, Request, Result, ToolInstance, ToolRef};
use toolkit_policy::verdict::Reason;
use toolkit_policy::{
    Action, ApprovalSettings, Class, CommandKind, Decision, SqlDialect, UnknownOption, classify, decide,
    unknown_options,
};

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
    /// The kind of text (`shell`, `kubectl`, `sql`), or the tool's type when its connector
    /// classified it.
    kind: String,
    reasons: Vec<Reason>,
    /// Options that no table lists as safe for their program: why the call is not a read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown_options: Vec<UnknownOption>,
}

fn check(cli: &Cli, args: &PolicyCheckArgs) -> Result<u8> {
    let text = args.command.join(" ");
    let target = match &args.tool {
        Some(name) => Some(tool_settings(cli, name)?),
        None => None,
    };
    let kind = match args.kind {
        Some(PolicyKind::Shell) => Some(CommandKind::Shell),
        Some(PolicyKind::Kubectl) => Some(CommandKind::Kubectl),
        Some(PolicyKind::Sql) if target.is_none() => Some(CommandKind::Sql(SqlDialect::Postgres)),
        Some(PolicyKind::Sql) | None if target.is_some() => None,
        Some(PolicyKind::Sql) => Some(CommandKind::Sql(SqlDialect::Postgres)),
        None => Some(CommandKind::Shell),
    };
    let verdict = match (kind, &target) {
        (Some(kind), _) => classify(kind, &text),
        (None, Some(t)) => t.instance.classify(Request::Command(&args.command)).ok_or_else(|| {
            Error::unsupported(format!(
                "tool {} is of type {}, which does not classify commands; pass --kind",
                t.reference, t.type_name
            ))
        })?,
        (None, None) => classify(CommandKind::Shell, &text),
    };
    let (settings, approval) = match &target {
        Some(t) => (t.settings.clone(), t.approval),
        None => (ApprovalSettings::default(), ApprovalRequired::Auto),
    };
    let mut decision = decide(&verdict, &settings, approval);
    if let Some(t) = &target
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
        kind: match (kind, &target) {
            (Some(CommandKind::Shell), _) => "shell".to_owned(),
            (Some(CommandKind::Kubectl), _) => "kubectl".to_owned(),
            (Some(CommandKind::Sql(_)), _) => "sql".to_owned(),
            // The classifier that read it, as its rules name it (`sql.read`, `shell.rm`...).
            (None, Some(t)) => verdict
                .reasons
                .first()
                .and_then(|r| r.rule.split('.').next())
                .filter(|k| matches!(*k, "sql" | "shell" | "kubectl" | "helm"))
                .map_or_else(|| t.type_name.clone(), str::to_owned),
            (None, None) => "shell".to_owned(),
        },
        reasons,
        unknown_options: unknown_options(&verdict),
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
        message: format!("tool {tool} is readOnly: only what reads may run"),
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
    for u in &report.unknown_options {
        let why = match u.why {
            "ambiguous" => "abbreviates several options",
            "computed" => "is only known at run time and may be any option",
            "bad value" => "lacks its value or takes none",
            _ => "is not an option the program is known to take safely",
        };
        println!(
            "not known: `{}` of `{}` {why}; an option that is not on the program's list may write, run code \
             or send data, so the call is not a read",
            u.option, u.program
        );
    }
}

/// What `--tool` brings: the tool's instance (to classify with), the approval settings and
/// mode, read-only.
struct ToolSettings {
    reference: ToolRef,
    type_name: String,
    instance: Arc<dyn ToolInstance>,
    settings: ApprovalSettings,
    approval: ApprovalRequired,
    read_only: bool,
}

fn tool_settings(cli: &Cli, name: &str) -> Result<ToolSettings> {
    let reference: ToolRef = name.parse()?;
    let catalog = Catalog::load(&cli.tools, &cli.connectors)?;
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
    // Building does no I/O and resolves no credential; the instance only classifies here.
    let connector = cli.connectors.get(&spec.type_)?;
    let instance = connector.build(BuildContext {
        tool: Arc::new(tool.clone()),
        namespace: reference.namespace.clone(),
        name: reference.name.clone(),
        secrets: Arc::new(catalog.secrets.clone()),
        config_maps: Arc::new(catalog.config_maps.clone()),
        tools: Arc::new(NoTools),
    })?;
    Ok(ToolSettings {
        type_name: spec.type_.clone(),
        instance,
        settings,
        approval: spec.approval.as_ref().map(|a| a.required).unwrap_or_default(),
        read_only: spec.read_only,
        reference,
    })
}
