//! `/ui/approvals`: the calls waiting for a person, oldest first, each with Approve and Reject
//! forms for those who may decide it, and the requests decided lately below.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;
use toolkit_core::ErrorKind;
use toolkit_state::{ApprovalRecord, ApprovalState};

use super::layout::{self, Section};
use super::{Console, Viewer, csrf_ok};

/// Decided requests shown at most.
const DECIDED_SHOWN: usize = 100;

pub(super) async fn page(State(console): State<Console>, Extension(viewer): Extension<Viewer>) -> Response {
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let state = snapshot.runtime.state();
    let (pending, all) = match tokio::try_join!(state.approvals(false), state.approvals(true)) {
        Ok(found) => found,
        Err(e) => return layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &format!("read the approvals: {e}")),
    };
    let visible = |r: &ApprovalRecord| viewer.session.caller.may_call(&r.tool);
    let pending: Vec<_> = pending.into_iter().filter(visible).collect();
    let decided: Vec<_> =
        all.into_iter().filter(|r| r.state != ApprovalState::Pending && visible(r)).take(DECIDED_SHOWN).collect();
    let body = html! {
        h2 { "Waiting for a decision" }
        section #pending { (pending_list(&console, &viewer, &pending)) }
        h2 { "Decided" }
        @if decided.is_empty() { p.muted { "No request has been decided yet." } }
        @else {
            table {
                thead { tr { th { "#" } th { "Tool" } th { "Caller" } th { "Arguments" } th { "State" } th { "By" } th { "At" } th { "Why" } } }
                tbody {
                    @for r in &decided {
                        tr id={ "approval-" (r.id) } {
                            td { (r.id) }
                            td { (r.tool) }
                            td { (r.caller) }
                            td { pre { (layout::pretty(&r.arguments)) } }
                            td { (r.state.as_str()) }
                            td { (r.decided_by.as_deref().unwrap_or("—")) }
                            td { (r.decided_at.map(layout::time).unwrap_or_default()) }
                            td { (r.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&viewer, Section::Approvals, "Approvals", body)
}

/// The pending list alone, which the page's script fetches every few seconds.
pub(super) async fn pending_fragment(State(console): State<Console>, Extension(viewer): Extension<Viewer>) -> Response {
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    match snapshot.runtime.state().approvals(false).await {
        Ok(pending) => {
            let pending: Vec<_> = pending.into_iter().filter(|r| viewer.session.caller.may_call(&r.tool)).collect();
            layout::html_response(StatusCode::OK, pending_list(&console, &viewer, &pending))
        }
        Err(e) => layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &format!("read the approvals: {e}")),
    }
}

fn pending_list(console: &Console, viewer: &Viewer, pending: &[ApprovalRecord]) -> Markup {
    html! {
        @if pending.is_empty() { p.muted { "No call is waiting for approval." } }
        @else {
            table {
                thead { tr { th { "#" } th { "Tool" } th { "Caller" } th { "Arguments" } th { "Class" } th { "Why it waits" } th { "Asked" } th { "Expires" } th { "Decision" } } }
                tbody {
                    @for r in pending {
                        tr id={ "approval-" (r.id) } {
                            td {
                                (r.id)
                                @if let Some(h) = &r.call_hash {
                                    br; span.muted title={ "SHA-256 of the tool and its arguments: " (h) } { "call " (h.get(..12).unwrap_or(h)) }
                                }
                            }
                            td { (r.tool) }
                            td { (r.caller) }
                            td { pre { (layout::pretty(&r.arguments)) } }
                            td { (r.class) }
                            td { @for reason in &r.reasons { div { (reason) } } }
                            td { (layout::time(r.time)) }
                            td { (layout::time(r.expires_at)) }
                            td { (decision_cell(console, viewer, r)) }
                        }
                    }
                }
            }
        }
    }
}

/// The forms of one pending request, or why there are none.
fn decision_cell(console: &Console, viewer: &Viewer, r: &ApprovalRecord) -> Markup {
    if r.caller == viewer.session.caller.id {
        return html! { span.own { "your own call" } };
    }
    if !console.may_decide(viewer, &r.tool) {
        return html! { span.muted { "read-only" } };
    }
    html! {
        form.inline method="post" action={ "/ui/approvals/" (r.id) "/approve" } {
            input type="hidden" name="csrf" value=(viewer.session.csrf);
            button.approve type="submit" { "Approve" }
        }
        form.inline method="post" action={ "/ui/approvals/" (r.id) "/reject" } {
            input type="hidden" name="csrf" value=(viewer.session.csrf);
            input type="text" name="reason" placeholder="reason" maxlength="500" aria-label="reason";
            button.reject type="submit" { "Reject" }
        }
    }
}

/// The fields of the Approve and Reject forms.
#[derive(Deserialize)]
pub(super) struct DecisionForm {
    csrf: Option<String>,
    reason: Option<String>,
}

pub(super) async fn approve(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(&console, &viewer, id, true, &form).await
}

pub(super) async fn reject(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(&console, &viewer, id, false, &form).await
}

async fn decide(console: &Console, viewer: &Viewer, id: i64, approve: bool, form: &DecisionForm) -> Response {
    if !csrf_ok(viewer, form.csrf.as_deref()) {
        return layout::refusal(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page");
    }
    if !viewer.approver {
        return layout::refusal(StatusCode::FORBIDDEN, "you may read the console but not decide approvals");
    }
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let state = snapshot.runtime.state();
    let request = match state.approval(id).await {
        Ok(Some(r)) if viewer.session.caller.may_call(&r.tool) => r,
        Ok(_) => return layout::refusal(StatusCode::NOT_FOUND, &format!("there is no approval request {id}")),
        Err(e) => return layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    if !console.may_decide(viewer, &request.tool) {
        return layout::refusal(StatusCode::FORBIDDEN, &format!("you may not decide requests for {}", request.tool));
    }
    let reason = if approve { None } else { form.reason.as_deref() };
    match toolkit_runtime::decide_approval(state, id, &viewer.session.caller, approve, reason).await {
        Ok(_) => Redirect::to("/ui/approvals").into_response(),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::Denied => StatusCode::FORBIDDEN,
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::InvalidInput => StatusCode::CONFLICT,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            layout::refusal(status, e.message())
        }
    }
}
