//! `/ui/sessions`: the bastion sessions running now (`toolkit tool connect|exec`), read-only:
//! ending one stays with `toolkit tool pause`. The state holds each session's last heartbeat,
//! not its terminal's last activity, so the page shows how long each has run and how fresh
//! its holder is; the holder itself ends a session idle past its timeout.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;

use super::layout::{self, Section};
use super::{Console, Viewer};

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
                thead { tr { th { "Session" } th { "Tool" } th { "Kind" } th { "Process" } th { "Started" } th { "Running for" } th { "Last heartbeat" } th { "Idle timeout" } } }
                tbody {
                    @for s in visible {
                        tr {
                            td { (s.id) }
                            td { (s.tool) }
                            td { (s.kind) }
                            td { (s.pid.map(|p| p.to_string()).unwrap_or_default()) }
                            td { (layout::time(s.started_at)) }
                            td { (format!("{} s", (now - s.started_at).num_seconds().max(0))) }
                            td { (format!("{} s ago", (now - s.last_seen_at).num_seconds().max(0))) }
                            td { (format!("{} s", s.idle_timeout_secs)) }
                        }
                    }
                }
            }
        }
        p.muted { "Pause a session with " code { "toolkit tool pause TOOL" } "." }
    };
    layout::page(&viewer, Section::Sessions, "Sessions", body)
}
