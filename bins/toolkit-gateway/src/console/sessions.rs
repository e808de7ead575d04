//! `/ui/sessions`: the bastion sessions running now (`toolkit tool connect|exec`), each with a
//! Pause button for those who may decide approvals of its tool: the operation of `toolkit tool
//! pause` (the session is ended in the state; its holder stops it at its next heartbeat). The
//! page shows how long each has run, how long it has been idle (its terminal's last activity, as
//! the holder reports with each heartbeat) and how fresh its holder is; the holder itself ends a
//! session idle past its timeout.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use maud::html;

use super::layout::{self, Section};
use super::{Console, Viewer, csrf_ok};

pub(super) async fn page(State(console): State<Console>, Extension(viewer): Extension<Viewer>) -> Response {
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let sessions = match snapshot.runtime.state().sessions(false).await {
        Ok(s) => s,
        Err(e) => return layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &format!("read the sessions: {e}")),
    };
    let now = Utc::now();
    let body = html! {
        @let visible: Vec<_> = sessions.iter().filter(|s| viewer.session.caller.may_call(&s.tool)).collect();
        @if visible.is_empty() { p.muted { "No session is running." } }
        @else {
            table {
                thead { tr { th { "Session" } th { "Tool" } th { "Kind" } th { "Process" } th { "Started" } th { "Running for" } th { "Idle for" } th { "Last heartbeat" } th { "Idle timeout" } th { "" } } }
                tbody {
                    @for s in visible {
                        tr {
                            td { (s.id) }
                            td { (s.tool) }
                            td { (s.kind) }
                            td { (s.pid.map(|p| p.to_string()).unwrap_or_default()) }
                            td { (layout::time(s.started_at)) }
                            td { (format!("{} s", (now - s.started_at).num_seconds().max(0))) }
                            td { (format!("{} s", (now - s.last_active_at.unwrap_or(s.started_at)).num_seconds().max(0))) }
                            td { (format!("{} s ago", (now - s.last_seen_at).num_seconds().max(0))) }
                            td { (format!("{} s", s.idle_timeout_secs)) }
                            td {
                                @if console.may_decide(&viewer, &s.tool) {
                                    form.inline method="post" action={ "/ui/sessions/" (s.id) "/pause" } {
                                        input type="hidden" name="csrf" value=(viewer.session.csrf);
                                        button.reject type="submit" { "Pause" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted { "Pausing ends the session, as " code { "toolkit tool pause" } " does." }
    };
    layout::page(&viewer, Section::Sessions, "Sessions", body)
}

#[derive(serde::Deserialize)]
pub(super) struct PauseForm {
    csrf: Option<String>,
}

/// Ends session `id`, for one who may decide approvals of its tool.
pub(super) async fn pause(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<PauseForm>,
) -> Response {
    if !csrf_ok(&viewer, form.csrf.as_deref()) {
        return layout::refusal(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page");
    }
    let snapshot = match console.snapshot() {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let state = snapshot.runtime.state();
    let session = match state.sessions(false).await {
        Ok(all) => all.into_iter().find(|s| s.id == id && viewer.session.caller.may_call(&s.tool)),
        Err(e) => return layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &format!("read the sessions: {e}")),
    };
    let Some(session) = session else {
        return layout::refusal(StatusCode::NOT_FOUND, &format!("there is no running session {id}"));
    };
    if !console.may_decide(&viewer, &session.tool) {
        return layout::refusal(StatusCode::FORBIDDEN, &format!("you may not pause sessions of {}", session.tool));
    }
    let reason = format!("paused by {}", viewer.session.caller.id);
    match state.end_session(&id, &reason).await {
        Ok(_) => {
            tracing::info!(session = id, tool = %session.tool, caller = %viewer.session.caller.id, "session paused in the console");
            Redirect::to("/ui/sessions").into_response()
        }
        Err(e) => layout::refusal(StatusCode::SERVICE_UNAVAILABLE, &format!("pause the session: {e}")),
    }
}
