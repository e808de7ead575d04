//! Signing in and out. The sign-in form takes an API token (or an identity provider's access
//! token), checked exactly as `/mcp` checks a bearer token; the form's CSRF token is a
//! double-submit one, also set in a short-lived cookie, since there is no session yet.

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::layout;
use super::session::{self, LOGIN_COOKIE, SESSION_COOKIE, SESSION_LIFETIME};
use super::{Console, Viewer, csrf_ok};
use crate::http::{Refusal, identify_token};

/// How long the sign-in form stays usable.
const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(30 * 60);

pub(super) async fn form(State(console): State<Console>, headers: HeaderMap) -> Response {
    let signed_in = session::cookie(&headers, SESSION_COOKIE).is_some_and(|id| console.sessions.get(id).is_some());
    if signed_in || !console.gateway.requires_tokens() {
        return Redirect::to("/ui/approvals").into_response();
    }
    login_page(&console, StatusCode::OK, None)
}

/// The sign-in page with a fresh CSRF token (in the form and its cookie), and `problem`.
fn login_page(console: &Console, status: StatusCode, problem: Option<&str>) -> Response {
    let csrf = session::random_token();
    let body = html! {
        @if let Some(problem) = problem { p.error { (problem) } }
        form method="post" action="/ui/login" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label { "API token" br; input type="password" name="token" autocomplete="off" required; }
            }
            button type="submit" { "Sign in" }
        }
        p.muted { "A token of the gateway's tokens file, or an access token of its identity provider." }
    };
    let mut response = layout::bare(status, "Sign in", body);
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, &csrf, LOGIN_FORM_LIFETIME, console.secure_cookies),
    );
    response
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    csrf: Option<String>,
    token: Option<String>,
}

pub(super) async fn submit(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !form.csrf.as_deref().is_some_and(|c| session::same_token(c, expected)) {
        return layout::refusal(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page");
    }
    if !console.gateway.requires_tokens() {
        return Redirect::to("/ui/approvals").into_response();
    }
    let token = form.token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return login_page(&console, StatusCode::UNAUTHORIZED, Some("give a token"));
    }
    let identity = match identify_token(&console.gateway, token).await {
        Ok(identity) => identity,
        Err(refusal) => {
            let (status, why) = match refusal {
                Refusal::Loading => (StatusCode::SERVICE_UNAVAILABLE, "the gateway is starting; retry shortly"),
                Refusal::Unavailable => {
                    (StatusCode::SERVICE_UNAVAILABLE, "the identity provider cannot be reached; retry shortly")
                }
                Refusal::Scope => (StatusCode::FORBIDDEN, "the access token does not grant what this gateway needs"),
                Refusal::Missing | Refusal::Invalid => (StatusCode::UNAUTHORIZED, "the token is not valid"),
            };
            if status == StatusCode::UNAUTHORIZED {
                console.gateway.metrics().unauthorized();
            }
            return login_page(&console, status, Some(why));
        }
    };
    // A token of the tokens file is found again on every request; an access token is not kept,
    // and a session ends no later than a JWT it signed in with.
    let from_file =
        console.gateway.snapshot().is_some_and(|s| s.tokens.as_ref().is_some_and(|t| t.authenticate(token).is_some()));
    let digest = from_file.then(|| Sha256::digest(token.as_bytes()).into());
    let lifetime = match crate::oauth::expiry(token).filter(|_| !from_file) {
        Some(at) => at.duration_since(SystemTime::now()).unwrap_or_default(),
        None => SESSION_LIFETIME,
    }
    .min(SESSION_LIFETIME);
    let (id, _) = console.sessions.start(identity.caller(), digest, lifetime);
    tracing::info!(caller = %identity.caller().id, "signed in to the console");
    let mut response = Redirect::to("/ui/approvals").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session::set_cookie(SESSION_COOKIE, &id, lifetime, console.secure_cookies));
    headers.append(header::SET_COOKIE, session::set_cookie(LOGIN_COOKIE, "", Duration::ZERO, console.secure_cookies));
    response
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    csrf: Option<String>,
}

pub(super) async fn logout(
    State(console): State<Console>,
    Extension(viewer): Extension<Viewer>,
    Form(form): Form<LogoutForm>,
) -> Response {
    if !csrf_ok(&viewer, form.csrf.as_deref()) {
        return layout::refusal(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page");
    }
    console.sessions.end(&viewer.id);
    let mut response = if console.gateway.requires_tokens() {
        Redirect::to("/ui/login").into_response()
    } else {
        layout::bare(StatusCode::OK, "Signed out", html! { p { a href="/ui/approvals" { "Open the console again" } } })
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(SESSION_COOKIE, "", Duration::ZERO, console.secure_cookies));
    response
}
