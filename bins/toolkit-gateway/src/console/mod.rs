//! The web console at `/ui`: server-rendered pages (they work without JavaScript) for people
//! who operate the gateway: the approvals waiting for a decision, the audit log, the tools and
//! the bastion sessions.
//!
//! - **Sign-in**: with tokens (a tokens file or OAuth), `/ui/login` takes an API token or access
//!   token, checked as `/mcp` checks a bearer token, and starts a session held in memory (a
//!   random id in an `HttpOnly; SameSite=Strict; Path=/ui` cookie, `Secure` behind TLS, 8 hours).
//!   Without tokens, on a loopback listener, the user is `local:$USER`, as with the CLI; on any
//!   other listener without tokens the console refuses everyone.
//! - **Who decides**: the identities `--approver` names ([`Approver`]); everyone else reads,
//!   sees no buttons, and gets 403 on a POST. A decision is [`toolkit_runtime::decide_approval`],
//!   the operation of `toolkit approvals approve|reject`.
//! - **Safety**: every POST carries the session's CSRF token (the sign-in form a double-submit
//!   one), else 403; the `Host` and any `Origin` must be ones `/mcp` accepts; every page has a
//!   strict Content-Security-Policy and is rendered by maud, which escapes every value.

mod approvals;
mod approvers;
mod audit;
mod layout;
mod login;
mod session;
mod sessions;
mod tools;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use approvers::Approver;

use crate::config::{HttpConfig, host_allowed};
use crate::gateway::{Gateway, Snapshot};
use session::{SESSION_COOKIE, Session, Sessions};

/// Where the console is mounted.
pub const UI_PATH: &str = "/ui";

/// The console's settings.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// Serve the console (on by default; `--no-ui` turns it off).
    pub enabled: bool,
    /// Who may decide approvals (`--approver`); nobody when empty.
    pub approvers: Vec<Approver>,
    /// Browsers reach the gateway through TLS (a proxy in front, `--behind-tls`): cookies get
    /// `Secure`.
    pub behind_tls: bool,
    /// The console's client id at the OAuth issuers (`--console-client-id`): people then sign
    /// in there (authorization code with PKCE) instead of pasting a token.
    pub client_id: Option<String>,
    /// Its secret, when the issuer wants one (`TOOLKIT_CONSOLE_CLIENT_SECRET`).
    pub client_secret: Option<toolkit_core::SecretString>,
    /// The gateway's address as people reach it (`--public-url`), for the redirect URI; the
    /// request's `Host` otherwise.
    pub public_url: Option<url::Url>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            approvers: Vec::new(),
            behind_tls: false,
            client_id: None,
            client_secret: None,
            public_url: None,
        }
    }
}

/// What every console handler shares.
#[derive(Clone)]
pub(crate) struct Console {
    gateway: Gateway,
    sessions: Sessions,
    approvers: Arc<[Approver]>,
    secure_cookies: bool,
    /// Accepted `Host` values (and so `Origin` hosts); `None` accepts any.
    hosts: Option<Arc<[String]>>,
    /// Without tokens: whether the listener is loopback, so the user is `local:$USER`.
    local: bool,
    /// Sign-in at the OAuth issuers, when the console has a client id there.
    oidc: Option<Arc<login::Oidc>>,
}

/// The routes of the console, to be merged into the gateway's router.
pub(crate) fn router(gateway: &Gateway, http: &HttpConfig) -> Router {
    let console = Console {
        gateway: gateway.clone(),
        sessions: Sessions::default(),
        approvers: http.console.approvers.clone().into(),
        secure_cookies: http.console.behind_tls,
        hosts: http.allowed_hosts().map(Arc::from),
        local: http.listen.ip().is_loopback(),
        oidc: http.console.client_id.clone().map(|client_id| {
            Arc::new(login::Oidc::new(client_id, http.console.client_secret.clone(), http.console.public_url.clone()))
        }),
    };
    let pages = Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/approvals") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/approvals") }))
        .route("/ui/approvals", get(approvals::page))
        .route("/ui/approvals/pending", get(approvals::pending_fragment))
        .route("/ui/approvals/{id}/approve", post(approvals::approve))
        .route("/ui/approvals/{id}/reject", post(approvals::reject))
        .route("/ui/audit", get(audit::page))
        .route("/ui/audit.csv", get(audit::csv))
        .route("/ui/audit.json", get(audit::json))
        .route("/ui/audit/{id}", get(audit::detail))
        .route("/ui/tools", get(tools::page))
        .route("/ui/tools/{ns}/{name}", get(tools::detail))
        .route("/ui/sessions", get(sessions::page))
        .route("/ui/sessions/{id}/pause", post(sessions::pause))
        .route("/ui/logout", post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(console.clone(), signed_in));
    Router::new()
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/login/oidc", get(login::oidc_start))
        .route("/ui/login/callback", get(login::oidc_callback))
        .route("/ui/static/console.css", get(layout::css))
        .route("/ui/static/console.js", get(layout::js))
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(console.clone(), same_origin))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(console)
}

/// The person a request is from, and their session.
#[derive(Clone)]
pub(super) struct Viewer {
    pub session: Session,
    /// The session's id (the cookie), to end it.
    pub id: String,
    /// Whether they may decide any approval.
    pub approver: bool,
}

impl Console {
    /// The current catalog, or a page saying the gateway is starting.
    fn snapshot(&self) -> Result<Arc<Snapshot>, layout::Failure> {
        self.gateway.snapshot().ok_or_else(|| {
            layout::Failure::new(StatusCode::SERVICE_UNAVAILABLE, "the gateway is starting; retry shortly")
        })
    }

    fn viewer(&self, id: String, session: Session) -> Viewer {
        let approver = approvers::may_decide(&self.approvers, &session.caller, None);
        Viewer { session, id, approver }
    }

    /// Whether `viewer` may decide a request for `tool`.
    fn may_decide(&self, viewer: &Viewer, tool: &toolkit_core::ToolRef) -> bool {
        approvers::may_decide(&self.approvers, &viewer.session.caller, Some(tool))
    }
}

/// Admits requests of a signed-in session (without tokens on loopback, starts one for
/// `local:$USER`); otherwise sends a browser to the sign-in page.
async fn signed_in(State(console): State<Console>, mut request: Request, next: Next) -> Response {
    let found = session::cookie(request.headers(), SESSION_COOKIE)
        .and_then(|id| console.sessions.get(id).map(|s| (id.to_owned(), s)));
    if let Some((id, mut session)) = found {
        if let Some(digest) = &session.token_digest {
            // Who the token is now: a token taken out of the tokens file signs its sessions out.
            let current = console.gateway.snapshot().and_then(|s| {
                s.tokens.as_ref().and_then(|t| t.by_digest(digest)).map(|i| session::without_token(i.caller()))
            });
            match current {
                Some(caller) => session.caller = caller,
                None => {
                    console.sessions.end(&id);
                    return signed_out(&request);
                }
            }
        }
        request.extensions_mut().insert(console.viewer(id, session));
        return next.run(request).await;
    }
    if console.gateway.requires_tokens() {
        return signed_out(&request);
    }
    if !console.local {
        return layout::refusal(
            StatusCode::FORBIDDEN,
            "the console needs --tokens on a listener that is not loopback: nobody can be told apart",
        )
        .into_response();
    }
    if request.method() != Method::GET {
        // A form posted without a session cannot carry its CSRF token.
        return layout::refusal(StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong; reload the page")
            .into_response();
    }
    let (id, session) = console.sessions.start(&toolkit_runtime::Caller::local(), None, session::SESSION_LIFETIME);
    request.extensions_mut().insert(console.viewer(id.clone(), session));
    let mut response = next.run(request).await;
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, &id, session::SESSION_LIFETIME, console.secure_cookies),
    );
    response
}

/// The answer to a request without a session: a page goes to the sign-in form, a form is
/// refused.
fn signed_out(request: &Request) -> Response {
    if request.method() == Method::GET {
        return Redirect::to("/ui/login").into_response();
    }
    layout::refusal(StatusCode::FORBIDDEN, "sign in first").into_response()
}

/// Refuses a `Host` or an `Origin` that `/mcp` would refuse, and a form a browser says came
/// from another site (`Sec-Fetch-Site`).
///
/// Pages are served with `Referrer-Policy: no-referrer`, under which browsers send
/// `Origin: null` with their own forms; `null` therefore says nothing, and the CSRF token and
/// the `SameSite=Strict` cookie are what stop another site's forms.
async fn same_origin(State(console): State<Console>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let host = host.or_else(|| request.uri().authority().map(|a| a.as_str()));
    if !host_allowed(host, console.hosts.as_deref()) {
        return layout::refusal(StatusCode::FORBIDDEN, "the Host header is not allowed").into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != b"null"
        && !origin_allowed(origin, console.hosts.as_deref())
    {
        return layout::refusal(StatusCode::FORBIDDEN, "the Origin header is not allowed").into_response();
    }
    let site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    if request.method() != Method::GET && site.is_some_and(|s| s != b"same-origin" && s != b"none") {
        return layout::refusal(StatusCode::FORBIDDEN, "the form was sent from another site").into_response();
    }
    next.run(request).await
}

/// Whether a browser `Origin` is `http` or `https` on an accepted host.
fn origin_allowed(origin: &HeaderValue, hosts: Option<&[String]>) -> bool {
    let Some(url) = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()) else { return false };
    if !matches!(url.scheme(), "http" | "https") || url.path() != "/" {
        return false;
    }
    let Some(host) = url.host_str() else { return false };
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    host_allowed(Some(&authority), hosts)
}

/// The console's response headers: a strict Content-Security-Policy, no sniffing, no
/// referrer, no framing and no caching of pages.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    set_security_headers(headers);
    response
}

/// The Content-Security-Policy of every console response.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn set_security_headers(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Whether a form's CSRF token is the session's.
fn csrf_ok(viewer: &Viewer, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| session::same_token(p, &viewer.session.csrf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_accepted_hosts_only() {
        let hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "gw.internal:9000".into()];
        let ok = |o: &'static str| origin_allowed(&HeaderValue::from_static(o), Some(&hosts));
        assert!(ok("http://localhost:8787") && ok("https://127.0.0.1") && ok("https://gw.internal:9000"));
        assert!(!ok("https://gw.internal:9001") && !ok("https://evil.example") && !ok("null") && !ok("file://x"));
    }
}
