//! `/ui/tools`: every declared tool with its phase, last probe, counters and settings, and why
//! a tool is not served; `/ui/tools/{ns}/{name}`: one tool, with the definition agents see.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use toolkit_core::ToolRef;
use toolkit_core::model::ToolSpec;

use super::layout::{self, Section};
use super::{Console, Viewer};
use crate::gateway::Snapshot;

/// A setting's serde name (`always`, `reject`...).
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn rate_limit(spec: Option<&ToolSpec>) -> String {
    match spec.and_then(|s| s.rate_limit.as_ref()) {
        Some(r) => match r.burst {
            Some(burst) => format!("{}/min, burst {burst}", r.requests_per_minute),
            None => format!("{}/min", r.requests_per_minute),
        },
        None => "—".into(),
    }
}

/// The tool's approval settings; without any, what its type does.
fn approval(snapshot: &Snapshot, spec: Option<&ToolSpec>) -> String {
    match spec.and_then(|s| s.approval.as_ref()) {
        Some(a) => {
            let timeout = a.timeout.map(|t| format!(", {t}")).unwrap_or_default();
            format!("{}{timeout}, on timeout {}", word(&a.required), word(&a.on_timeout))
        }
        None => {
            let by_type = spec.and_then(|s| snapshot.runtime.connectors().get(&s.type_).ok());
            if by_type.is_some_and(|c| c.info().approval_by_default) {
                "auto (the type's default), by the namespace's policy".into()
            } else {
                "none".into()
            }
        }
    }
}

/// The spec of a declared tool, when its manifest parsed.
fn spec_of<'a>(snapshot: &'a Snapshot, tool: &ToolRef) -> Option<&'a ToolSpec> {
    snapshot.runtime.catalog().tools.get(tool).and_then(|l| l.tool.as_deref()).map(|t| &t.spec)
}

pub(super) async fn page(State(console): State<Console>, Extension(viewer): Extension<Viewer>) -> Response {
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let runtime = &snapshot.runtime;
    let (listing, statuses) = match tokio::try_join!(runtime.list(), runtime.state().statuses()) {
        Ok(found) => found,
        Err(e) => return layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &format!("read the tools: {e}")),
    };
    let mcp_names: BTreeMap<&ToolRef, &str> = snapshot.tools.iter().map(|(t, r)| (r, t.name.as_ref())).collect();
    let body = html! {
        table {
            thead { tr {
                th { "Tool" } th { "MCP name" } th { "Type" } th { "Phase" } th { "Last probe" } th { "Calls" } th { "Errors" }
                th { "Rate limit" } th { "Read-only" } th { "Approval" } th { "Not served because" }
            } }
            tbody {
                @for t in listing.iter().filter(|t| viewer.session.caller.may_call(&t.tool)) {
                    @let spec = spec_of(&snapshot, &t.tool);
                    @let probe = statuses.get(&t.tool).and_then(|s| s.last_probe.as_ref());
                    tr {
                        td { a href={ "/ui/tools/" (t.tool.namespace) "/" (t.tool.name) } { (t.tool) } }
                        td { (mcp_names.get(&t.tool).copied().unwrap_or("—")) }
                        td { (t.type_) }
                        td { (t.phase) }
                        td {
                            @match probe {
                                Some(p) => {
                                    (layout::time(p.time)) br;
                                    @if p.ok { (format!("ok, {:.0} ms", p.latency_ms)) } @else { span.error { "failed" } }
                                    @if let Some(v) = &p.server_version { br; span.muted { (v) } }
                                },
                                None => span.muted { "never" },
                            }
                        }
                        td { (t.invocation_count) }
                        td { (t.error_count) }
                        td { (rate_limit(spec)) }
                        td { @if spec.is_some_and(|s| s.read_only) { "yes" } @else { "no" } }
                        td { (approval(&snapshot, spec)) }
                        td { @if t.served { span.muted { "served" } } @else { (t.reason.as_deref().unwrap_or("disabled")) } }
                    }
                }
            }
        }
    };
    layout::page(&viewer, Section::Tools, "Tools", body)
}

pub(super) async fn detail(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let reference = ToolRef::new(namespace, name);
    let Some(loaded) =
        snapshot.runtime.catalog().tools.get(&reference).filter(|_| viewer.session.caller.may_call(&reference))
    else {
        return layout::refusal(StatusCode::NOT_FOUND, &format!("there is no tool {reference}"));
    };
    let spec = loaded.tool.as_deref().map(|t| &t.spec);
    let served = snapshot.tools.iter().find(|(_, r)| *r == reference).map(|(t, _)| t);
    let why = snapshot.runtime.tool(&reference).err().map(|e| e.to_string());
    let body = html! {
        dl.fields {
            dt { "Type" } dd { (spec.map(|s| s.type_.as_str()).unwrap_or("?")) }
            dt { "Description" } dd { (spec.and_then(|s| s.description.as_deref()).unwrap_or("—")) }
            dt { "Manifest" } dd { (loaded.source.display()) }
            dt { "Rate limit" } dd { (rate_limit(spec)) }
            dt { "Read-only" } dd { @if spec.is_some_and(|s| s.read_only) { "yes" } @else { "no" } }
            dt { "Approval" } dd { (approval(&snapshot, spec)) }
            dt { "Enabled" } dd { @if spec.is_some_and(|s| s.enabled) { "yes" } @else { "no" } }
        }
        @if !loaded.problems.is_empty() {
            h2 { "Problems" }
            ul { @for p in &loaded.problems { li { (p) } } }
        }
        h2 { "What agents see" }
        (definition(served, why.as_deref()))
        p { a href="/ui/tools" { "Back to the tools" } }
    };
    layout::page(&viewer, Section::Tools, &reference.to_string(), body)
}

/// The MCP tool definition, as `tools/list` gives it.
fn definition(served: Option<&rmcp::model::Tool>, why: Option<&str>) -> Markup {
    match served {
        Some(tool) => {
            let json = serde_json::to_value(tool).unwrap_or_default();
            html! { pre.block { (layout::pretty(&json)) } }
        }
        None => html! { p.muted { "Not served to agents" @if let Some(why) = why { ": " (why) } "." } },
    }
}
