//! Signing in and out. The sign-in form takes an API token (or an identity provider's access
//! token), checked exactly as `/mcp` checks a bearer token; the form's CSRF token is a
//! double-submit one, also set in a short-lived cookie, since there is no session yet.
//!
//! With a client id at the OAuth issuers (`--console-client-id`), people sign in there instead:
//! `/ui/login/oidc` sends the browser to the issuer's authorization endpoint (authorization code
//! with PKCE S256, a random `state` bound to the browser by a cookie, the gateway's resource as
//! RFC 8707 `resource`), and `/ui/login/callback` redeems the code at the token endpoint and
//! checks the access token it gets as `/mcp` would. The access token is not kept.

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
    let issuers: Vec<String> = match (&console.oidc, console.gateway.oauth()) {
        (Some(_), Some(v)) => v.issuers().to_vec(),
        _ => Vec::new(),
    };
    let body = html! {
        @if let Some(problem) = problem { p.error { (problem) } }
        @for (i, issuer) in issuers.iter().enumerate() {
            p { a.button href={ "/ui/login/oidc?issuer=" (i) } { "Sign in with " (host_of(issuer)) } }
        }
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
    let mut response = Redirect::to("/ui/approvals").into_response();
    start_session(&console, token, identity.caller(), &mut response);
    response
}

/// Starts the session of `caller`, who signed in with `token`, and sets its cookie on
/// `response`. A token of the tokens file is found again on every request; an access token is
/// not kept, and a session ends no later than a JWT it signed in with.
fn start_session(console: &Console, token: &str, caller: &toolkit_runtime::Caller, response: &mut Response) {
    let from_file =
        console.gateway.snapshot().is_some_and(|s| s.tokens.as_ref().is_some_and(|t| t.authenticate(token).is_some()));
    let digest = from_file.then(|| Sha256::digest(token.as_bytes()).into());
    let lifetime = match crate::oauth::expiry(token).filter(|_| !from_file) {
        Some(at) => at.duration_since(SystemTime::now()).unwrap_or_default(),
        None => SESSION_LIFETIME,
    }
    .min(SESSION_LIFETIME);
    let (id, _) = console.sessions.start(caller, digest, lifetime);
    tracing::info!(caller = %caller.id, "signed in to the console");
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session::set_cookie(SESSION_COOKIE, &id, lifetime, console.secure_cookies));
    headers.append(header::SET_COOKIE, session::set_cookie(LOGIN_COOKIE, "", Duration::ZERO, console.secure_cookies));
}

/// The host of an issuer's URL, for the sign-in button.
fn host_of(issuer: &str) -> String {
    url::Url::parse(issuer).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| issuer.to_owned())
}

/// How long a sign-in at the issuer may take.
const OIDC_LOGIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Sign-ins under way kept at most.
const MAX_PENDING_LOGINS: usize = 1000;
/// The cookie binding a sign-in under way to the browser that started it (`SameSite=Lax`: the
/// issuer's redirect back is a navigation from another site).
const OIDC_STATE_COOKIE: &str = "toolkit_console_oidc";

/// The console as an OAuth client of the gateway's issuers.
pub(crate) struct Oidc {
    client_id: String,
    client_secret: Option<toolkit_core::SecretString>,
    public_url: Option<url::Url>,
    pending: std::sync::Mutex<std::collections::HashMap<String, PendingLogin>>,
}

/// A sign-in under way, by its `state`.
struct PendingLogin {
    issuer: String,
    verifier: String,
    redirect_uri: String,
    started: std::time::Instant,
}

impl Oidc {
    pub(crate) fn new(
        client_id: String,
        client_secret: Option<toolkit_core::SecretString>,
        public_url: Option<url::Url>,
    ) -> Self {
        Self { client_id, client_secret, public_url, pending: std::sync::Mutex::default() }
    }

    /// `/ui/login/callback` as the browser reaches it.
    fn redirect_uri(&self, headers: &HeaderMap, tls: bool) -> Option<String> {
        if let Some(base) = &self.public_url {
            return base.join("ui/login/callback").ok().map(String::from);
        }
        let host = headers.get(header::HOST)?.to_str().ok()?;
        Some(format!("{}://{host}/ui/login/callback", if tls { "https" } else { "http" }))
    }

    fn keep(&self, state: String, login: PendingLogin) {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, p| p.started.elapsed() < OIDC_LOGIN_LIFETIME);
        if pending.len() >= MAX_PENDING_LOGINS {
            pending.clear();
        }
        pending.insert(state, login);
    }

    fn take(&self, state: &str) -> Option<PendingLogin> {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.remove(state).filter(|p| p.started.elapsed() < OIDC_LOGIN_LIFETIME)
    }
}

/// The PKCE S256 challenge of `verifier`.
fn challenge(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Deserialize)]
pub(super) struct StartQuery {
    issuer: Option<usize>,
}

/// Sends the browser to the issuer to sign in.
pub(super) async fn oidc_start(
    State(console): State<Console>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<StartQuery>,
) -> Response {
    let (Some(oidc), Some(verifier)) = (&console.oidc, console.gateway.oauth()) else {
        return layout::refusal(StatusCode::NOT_FOUND, "signing in at an identity provider is not set up");
    };
    let Some(issuer) = verifier.issuers().get(query.issuer.unwrap_or(0)).cloned() else {
        return layout::refusal(StatusCode::NOT_FOUND, "there is no such identity provider");
    };
    let endpoints = match verifier.login_endpoints(&issuer).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(issuer, "console sign-in: {e:?}");
            return login_page(
                &console,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("the identity provider cannot be reached; retry shortly"),
            );
        }
    };
    let Some(redirect_uri) = oidc.redirect_uri(&headers, console.secure_cookies) else {
        return layout::refusal(StatusCode::BAD_REQUEST, "the request has no Host");
    };
    let state = session::random_token();
    let code_verifier = session::random_token();
    let mut scopes = vec!["openid".to_owned()];
    scopes.extend(verifier.scopes());
    let mut url = endpoints.authorization;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &oidc.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge(&code_verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", verifier.resource());
    oidc.keep(
        state.clone(),
        PendingLogin { issuer, verifier: code_verifier, redirect_uri, started: std::time::Instant::now() },
    );
    let mut response = Redirect::to(url.as_str()).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, state_cookie(&state, OIDC_LOGIN_LIFETIME, console.secure_cookies));
    response
}

/// The cookie of a sign-in under way.
fn state_cookie(value: &str, max_age: Duration, secure: bool) -> axum::http::HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{OIDC_STATE_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/ui/login; Max-Age={}{secure}",
        max_age.as_secs()
    );
    axum::http::HeaderValue::from_str(&text).unwrap_or_else(|_| axum::http::HeaderValue::from_static(""))
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Back from the issuer: the code is redeemed, the access token checked, the session started.
pub(super) async fn oidc_callback(
    State(console): State<Console>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<CallbackQuery>,
) -> Response {
    let (Some(oidc), Some(verifier)) = (&console.oidc, console.gateway.oauth()) else {
        return layout::refusal(StatusCode::NOT_FOUND, "signing in at an identity provider is not set up");
    };
    if let Some(error) = &query.error {
        let error: String = error.chars().take(64).collect();
        return login_page(&console, StatusCode::UNAUTHORIZED, Some(&format!("the identity provider said: {error}")));
    }
    let state = query.state.as_deref().unwrap_or_default();
    let bound = session::cookie(&headers, OIDC_STATE_COOKIE).is_some_and(|c| session::same_token(c, state));
    let pending = if bound { oidc.take(state) } else { None };
    let (Some(pending), Some(code)) = (pending, query.code.as_deref()) else {
        return login_page(
            &console,
            StatusCode::FORBIDDEN,
            Some("this sign-in was not started here or took too long; start again"),
        );
    };
    let Ok(endpoints) = verifier.login_endpoints(&pending.issuer).await else {
        return login_page(
            &console,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("the identity provider cannot be reached; retry shortly"),
        );
    };
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", pending.redirect_uri.as_str()),
        ("code_verifier", pending.verifier.as_str()),
        ("resource", verifier.resource()),
    ];
    if oidc.client_secret.is_none() {
        form.push(("client_id", oidc.client_id.as_str()));
    }
    let basic = oidc.client_secret.as_ref().map(|s| (oidc.client_id.as_str(), s));
    let token = match verifier.redeem_code(&endpoints.token, &form, basic).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(issuer = pending.issuer, "console sign-in: {e}");
            return login_page(
                &console,
                StatusCode::UNAUTHORIZED,
                Some("the identity provider did not give a token; start again"),
            );
        }
    };
    let identity = match identify_token(&console.gateway, token.expose()).await {
        Ok(identity) => identity,
        Err(Refusal::Scope) => {
            return login_page(
                &console,
                StatusCode::FORBIDDEN,
                Some("the access token does not grant what this gateway needs"),
            );
        }
        Err(_) => {
            return login_page(
                &console,
                StatusCode::UNAUTHORIZED,
                Some("the access token is not valid for this gateway"),
            );
        }
    };
    // A page, not a redirect: a navigation that began at another site would not carry the
    // session's SameSite=Strict cookie to the next page.
    let body = html! {
        meta http-equiv="refresh" content="0; url=/ui/approvals";
        p { "Signed in. " a href="/ui/approvals" { "Continue" } }
    };
    let mut response = layout::bare(StatusCode::OK, "Signed in", body);
    start_session(&console, token.expose(), identity.caller(), &mut response);
    response.headers_mut().append(header::SET_COOKIE, state_cookie("", Duration::ZERO, console.secure_cookies));
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
