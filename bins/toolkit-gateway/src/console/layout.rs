//! The frame every console page shares, the error page, and the two embedded assets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::Viewer;

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// The sections of the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Approvals,
    Audit,
    Tools,
    Sessions,
}

const SECTIONS: [(Section, &str, &str); 4] = [
    (Section::Approvals, "/ui/approvals", "Approvals"),
    (Section::Audit, "/ui/audit", "Audit"),
    (Section::Tools, "/ui/tools", "Tools"),
    (Section::Sessions, "/ui/sessions", "Sessions"),
];

/// A whole page: navigation, who is signed in (with the sign-out form) and `body`.
pub(super) fn page(viewer: &Viewer, current: Section, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · toolkit" }
                link rel="stylesheet" href="/ui/static/console.css";
                script src="/ui/static/console.js" defer {}
            }
            body {
                header {
                    strong { "toolkit" }
                    nav {
                        @for (section, href, label) in SECTIONS {
                            @if section == current { a href=(href) aria-current="page" { (label) } }
                            @else { a href=(href) { (label) } }
                        }
                    }
                    div.who {
                        span { (viewer.session.caller.id) }
                        @if viewer.approver { " · approver" } @else { " · read-only" }
                        form method="post" action="/ui/logout" {
                            input type="hidden" name="csrf" value=(viewer.session.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// A page outside the signed-in frame (sign-in, refusals).
pub(super) fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · toolkit" }
                link rel="stylesheet" href="/ui/static/console.css";
            }
            body {
                main.narrow {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html_response(status, markup)
}

/// Why a page cannot be shown: rendered by [`refusal`].
pub(super) struct Failure {
    pub status: StatusCode,
    pub why: String,
}

impl Failure {
    pub fn new(status: StatusCode, why: impl Into<String>) -> Self {
        Self { status, why: why.into() }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        refusal(self.status, &self.why)
    }
}

/// A refusal or failure, saying why (a 503 asks to retry in a second).
pub(super) fn refusal(status: StatusCode, why: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut response =
        bare(status, title, html! { p.error { (why) } p { a href="/ui/approvals" { "Back to the console" } } });
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

pub(super) fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// A time as the console shows it: UTC, to the second.
pub(super) fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// JSON, indented, for a `<pre>`.
pub(super) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

pub(super) async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

pub(super) async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    response
}
