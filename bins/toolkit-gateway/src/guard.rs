//! What `/mcp` checks before rmcp sees a request: strict `Host` headers, well-formed JSON-RPC,
//! and MCP sessions bound to the identity that opened them.
//!
//! - **Host**: exactly one `Host` header that parses as `host[:port]` (a numeric port, no user
//!   info), on every route; anything else is 400, as RFC 9112 asks.
//! - **JSON-RPC**: a POST body that is not JSON gets -32700, a batch or a message that is not
//!   JSON-RPC 2.0 (an id that is null, a fraction, an object...) gets -32600, both with HTTP
//!   400; `tools/call` whose params or arguments are not objects gets -32602.
//! - **Sessions**: the identity that sent `initialize` (the token's caller, or `local` without
//!   tokens) owns the session it opened. A request on it from anyone else, a POST, a GET
//!   stream, a resumption with `Last-Event-ID` or a DELETE, is answered exactly like a request
//!   on a session that does not exist (404). A request whose JSON-RPC id is still in flight in
//!   its session is refused (-32600) rather than let one answer replace the other.
//! - **Caps**: sessions per identity and in total ([`HttpLimits`]); at a cap the least recently
//!   used session with nothing in flight is closed to make room, and when none is idle
//!   `initialize` is refused with a JSON-RPC error (HTTP 429 for one identity's cap, 503 for the
//!   total).

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::config::HttpLimits;

/// The header that carries a session's id.
const SESSION_HEADER: &str = "mcp-session-id";

/// What rmcp answers for a session it does not know, byte for byte.
const SESSION_NOT_FOUND: &str = "Not Found: Session not found";

/// The owner of requests without a token.
const LOCAL: &str = "local";

/// Refuses a request without exactly one well-formed `Host` (or, over HTTP/2, `:authority`).
pub(crate) async fn strict_host(request: Request, next: Next) -> Response {
    match check_host(request.headers(), request.uri().authority().map(|a| a.as_str()), request.version()) {
        Ok(()) => next.run(request).await,
        Err(why) => (StatusCode::BAD_REQUEST, format!("Bad Request: {why}\n")).into_response(),
    }
}

fn check_host(headers: &HeaderMap, authority: Option<&str>, version: Version) -> Result<(), &'static str> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let value = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return Err("more than one Host header"),
        (Some(v), None) => v.to_str().map_err(|_| "the Host header is not text")?,
        (None, _) => match authority {
            Some(a) => a,
            None if version == Version::HTTP_2 || version == Version::HTTP_3 => return Err("no :authority"),
            None => return Err("no Host header"),
        },
    };
    valid_authority(value).then_some(()).ok_or("the Host header is not host[:port]")
}

/// `host[:port]`: a name or address without user info, path or query, and a numeric port.
fn valid_authority(value: &str) -> bool {
    let Ok(authority) = value.parse::<axum::http::uri::Authority>() else { return false };
    if value.contains(['@', '/', '?', '#']) || authority.host().is_empty() {
        return false;
    }
    // `host:` with an empty port is allowed (RFC 3986); any other port must be a number.
    let host_end =
        if value.starts_with('[') { value.find(']').map_or(value.len(), |i| i + 1) } else { authority.host().len() };
    match value[host_end..].strip_prefix(':') {
        None => value.len() == host_end,
        Some("") => true,
        Some(port) => port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
    }
}

/// A JSON-RPC error reply with HTTP `status`.
fn rpc_error(status: StatusCode, id: Value, code: i64, message: impl Into<String>) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
/// Server-defined: the gateway is at a cap.
const AT_CAPACITY: i64 = -32000;

/// A POST body, as far as the guard needs to know it.
#[derive(Debug, PartialEq)]
enum Message {
    /// A request, with its id (as JSON) and method.
    Request { id: Value, method: String },
    /// A notification, or a response to a request of the server.
    Other,
}

/// Reads a POST body as one JSON-RPC 2.0 message, or the error reply that says why it is not.
fn read_message(body: &[u8]) -> Result<Message, Box<Response>> {
    let invalid = |why: &str| Box::new(rpc_error(StatusCode::BAD_REQUEST, Value::Null, INVALID_REQUEST, why));
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(rpc_error(StatusCode::BAD_REQUEST, Value::Null, PARSE_ERROR, format!("Parse error: {e}")))
    })?;
    let object = match value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(invalid("Invalid Request: batches are not supported; send one message per POST"));
        }
        _ => return Err(invalid("Invalid Request: a message is a JSON object")),
    };
    if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid("Invalid Request: \"jsonrpc\" must be \"2.0\""));
    }
    let id = match object.get("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n.clone())),
        Some(_) => return Err(invalid("Invalid Request: an id is a string or an integer")),
    };
    let Some(method) = object.get("method") else {
        // A response to the server: an id, and a result or an error.
        let answers = object.contains_key("result") ^ object.contains_key("error");
        return if id.is_some() && answers {
            Ok(Message::Other)
        } else {
            Err(invalid("Invalid Request: neither a request, a notification nor a response"))
        };
    };
    let Value::String(method) = method else { return Err(invalid("Invalid Request: \"method\" is a string")) };
    let params = object.get("params");
    if matches!(params, Some(Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))) {
        return Err(invalid("Invalid Request: \"params\" is an object"));
    }
    let Some(id) = id else { return Ok(Message::Other) };
    let bad_params =
        |why: &str| Box::new(rpc_error(StatusCode::OK, id.clone(), INVALID_PARAMS, format!("Invalid params: {why}")));
    if matches!(params, Some(Value::Array(_))) {
        return Err(bad_params("\"params\" is an object"));
    }
    if method == "tools/call" {
        let Some(Value::Object(params)) = params else { return Err(bad_params("tools/call needs params")) };
        if !matches!(params.get("name"), Some(Value::String(_))) {
            return Err(bad_params("\"name\" is the tool's name, a string"));
        }
        if !matches!(params.get("arguments"), None | Some(Value::Null | Value::Object(_))) {
            return Err(bad_params("\"arguments\" is an object"));
        }
    }
    Ok(Message::Request { id, method: method.clone() })
}

/// One session as the guard keeps it.
struct Session {
    owner: String,
    last_used: Instant,
    /// POSTs whose replies are still being sent.
    in_flight: usize,
    /// The JSON-RPC ids of requests in flight.
    ids: HashSet<String>,
}

#[derive(Default)]
struct Book {
    sessions: HashMap<Arc<str>, Session>,
    /// Sessions open and `initialize` requests on their way, per identity: both count against
    /// the caps.
    held: HashMap<String, usize>,
    /// `initialize` requests on their way, in all.
    opening: usize,
}

impl Book {
    fn held_by(&self, owner: &str) -> usize {
        self.held.get(owner).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.sessions.len() + self.opening
    }

    fn release(&mut self, owner: &str) {
        if let Some(n) = self.held.get_mut(owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held.remove(owner);
            }
        }
    }

    fn insert(&mut self, id: Arc<str>, session: Session) {
        *self.held.entry(session.owner.clone()).or_default() += 1;
        if let Some(old) = self.sessions.insert(id, session) {
            self.release(&old.owner);
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.sessions.remove(id) {
            self.release(&old.owner);
        }
    }

    /// The least recently used session with nothing in flight, of `owner` or of anyone.
    fn least_recent_idle(&self, owner: Option<&str>) -> Option<Arc<str>> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.in_flight == 0 && owner.is_none_or(|o| s.owner == o))
            .min_by_key(|(_, s)| s.last_used)
            .map(|(id, _)| id.clone())
    }
}

/// The guard of `/mcp`: the sessions it has seen opened, and the limits.
#[derive(Clone)]
pub(crate) struct McpGuard {
    book: Arc<Mutex<Book>>,
    manager: Arc<LocalSessionManager>,
    limits: HttpLimits,
    /// Without sessions, only the JSON-RPC checks apply.
    stateless: bool,
}

impl McpGuard {
    pub(crate) fn new(manager: Arc<LocalSessionManager>, limits: HttpLimits, stateless: bool) -> Self {
        Self { book: Arc::default(), manager, limits, stateless }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets sessions rmcp has closed (idle too long, or ended).
    async fn forget_closed(&self) {
        let live = self.manager.sessions.read().await;
        let mut book = self.book();
        let gone: Vec<Arc<str>> = book.sessions.keys().filter(|id| !live.contains_key(*id)).cloned().collect();
        for id in gone {
            book.remove(&id);
        }
    }

    /// Whether a new session of `owner` would pass a cap.
    fn at_cap(&self, owner: &str) -> bool {
        let book = self.book();
        book.held_by(owner) >= self.limits.max_sessions_per_identity || book.total() >= self.limits.max_sessions
    }

    /// Makes room for one more session of `owner`, closing idle ones at a cap, and counts it
    /// as opening; or the reply that refuses it.
    async fn make_room(&self, owner: &str, id: &Value) -> Result<Opening, Box<Response>> {
        // Sessions rmcp closed on its own still count until forgotten; looking costs a pass
        // over every session, so only at a cap.
        if self.at_cap(owner) {
            self.forget_closed().await;
        }
        loop {
            let (victim, refusal) = {
                let mut book = self.book();
                if book.held_by(owner) >= self.limits.max_sessions_per_identity {
                    match book.least_recent_idle(Some(owner)) {
                        Some(victim) => (Some(victim), None),
                        None => (
                            None,
                            Some((StatusCode::TOO_MANY_REQUESTS, "for this identity", "--max-sessions-per-identity")),
                        ),
                    }
                } else if book.total() >= self.limits.max_sessions {
                    match book.least_recent_idle(None) {
                        Some(victim) => (Some(victim), None),
                        None => (None, Some((StatusCode::SERVICE_UNAVAILABLE, "on this gateway", "--max-sessions"))),
                    }
                } else {
                    *book.held.entry(owner.to_owned()).or_default() += 1;
                    book.opening += 1;
                    return Ok(Opening { guard: self.clone(), owner: owner.to_owned() });
                }
            };
            if let Some((status, whom, flag)) = refusal {
                let message = format!(
                    "too many MCP sessions {whom} ({flag}), and every one has a request in flight; \
                     end one (DELETE /mcp) or retry later"
                );
                let mut reply = rpc_error(status, id.clone(), AT_CAPACITY, message);
                reply.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return Err(Box::new(reply));
            }
            if let Some(victim) = victim {
                self.book().remove(&victim);
                tracing::info!(owner, "closed the least recently used idle MCP session to make room for a new one");
                if let Err(e) = self.manager.close_session(&victim).await {
                    tracing::debug!("close an idle session: {e}");
                }
            }
        }
    }

    /// Starts a request on session `id` for `owner`: `None` when the session is not one
    /// `owner` opened (or no longer open).
    fn enter(&self, id: &str, owner: &str, request_id: Option<&Value>) -> Result<InFlight, Box<Response>> {
        let mut book = self.book();
        let session = match book.sessions.get_mut(id) {
            Some(s) if s.owner == owner => s,
            _ => return Err(Box::new(session_not_found())),
        };
        let rpc_id = request_id.map(Value::to_string);
        if let Some(rpc_id) = &rpc_id {
            if session.ids.contains(rpc_id) {
                return Err(Box::new(rpc_error(
                    StatusCode::BAD_REQUEST,
                    request_id.cloned().unwrap_or(Value::Null),
                    INVALID_REQUEST,
                    "Invalid Request: a request with this id is still in flight in this session; use a new id",
                )));
            }
            session.ids.insert(rpc_id.clone());
        }
        session.in_flight += 1;
        session.last_used = Instant::now();
        Ok(InFlight { guard: self.clone(), session: Arc::from(id), rpc_id })
    }

    /// Whether `owner` opened session `id`, which is still open as far as the guard knows.
    fn owns(&self, id: &str, owner: &str) -> bool {
        let mut book = self.book();
        match book.sessions.get_mut(id) {
            Some(s) if s.owner == owner => {
                s.last_used = Instant::now();
                true
            }
            _ => false,
        }
    }
}

/// A session being opened: counted against the caps until it is registered or fails.
struct Opening {
    guard: McpGuard,
    owner: String,
}

impl Opening {
    fn opened(self, id: Arc<str>) {
        let session =
            Session { owner: self.owner.clone(), last_used: Instant::now(), in_flight: 0, ids: HashSet::new() };
        self.guard.book().insert(id, session);
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        let mut book = self.guard.book();
        book.opening = book.opening.saturating_sub(1);
        book.release(&self.owner);
    }
}

/// A POST in flight on a session, until its reply has been sent (or dropped).
struct InFlight {
    guard: McpGuard,
    session: Arc<str>,
    rpc_id: Option<String>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut book = self.guard.book();
        if let Some(s) = book.sessions.get_mut(&self.session) {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.last_used = Instant::now();
            if let Some(id) = &self.rpc_id {
                s.ids.remove(id);
            }
        }
    }
}

fn session_not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from(SESSION_NOT_FOUND))
        .unwrap_or_else(|_| StatusCode::NOT_FOUND.into_response())
}

/// The identity a request comes from.
fn owner_of(request: &Request) -> String {
    request.extensions().get::<Arc<Identity>>().map_or_else(|| LOCAL.to_owned(), |i| i.caller().id.clone())
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Whether `headers` accept what rmcp requires and the body is JSON; otherwise rmcp answers
/// (406 or 415) and the guard stays out of the way.
fn is_json_post(headers: &HeaderMap) -> bool {
    let essence = |v: &str| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let content_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| essence(v) == "application/json");
    let accepted: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(essence))
        .collect();
    content_json
        && accepted.iter().any(|a| a == "application/json")
        && accepted.iter().any(|a| a == "text/event-stream")
}

/// The middleware of `/mcp`.
pub(crate) async fn guard_mcp(State(guard): State<McpGuard>, request: Request, next: Next) -> Response {
    let owner = owner_of(&request);
    let session = session_of(request.headers());
    match *request.method() {
        Method::POST if is_json_post(request.headers()) => post(&guard, owner, session, request, next).await,
        Method::GET | Method::DELETE if !guard.stateless => {
            if let Some(id) = &session
                && !guard.owns(id, &owner)
            {
                return session_not_found();
            }
            let delete = request.method() == Method::DELETE;
            let response = next.run(request).await;
            if delete
                && response.status().is_success()
                && let Some(id) = session
            {
                guard.book().remove(&id);
            }
            response
        }
        _ => next.run(request).await,
    }
}

async fn post(guard: &McpGuard, owner: String, session: Option<String>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limit = guard.limits.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(e) if is_length_limit(&e) => {
            let text = format!("Payload Too Large: request body exceeds {limit} bytes");
            return (StatusCode::PAYLOAD_TOO_LARGE, text).into_response();
        }
        Err(_) => return (StatusCode::BAD_REQUEST, "Bad Request: the body could not be read").into_response(),
    };
    let message = match read_message(&bytes) {
        Ok(m) => m,
        Err(reply) => return *reply,
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    if guard.stateless {
        return next.run(request).await;
    }
    let request_id = match &message {
        Message::Request { id, .. } => Some(id),
        Message::Other => None,
    };
    match session {
        Some(id) => {
            let in_flight = match guard.enter(&id, &owner, request_id) {
                Ok(f) => f,
                Err(reply) => return *reply,
            };
            let response = next.run(request).await;
            // The reply (an SSE stream, or JSON) holds the slot until it has been sent.
            response.map(|body| Body::new(Holding { body, _held: in_flight }))
        }
        None => {
            let Message::Request { id, method } = &message else { return next.run(request).await };
            if method != "initialize" {
                return next.run(request).await;
            }
            let opening = match guard.make_room(&owner, id).await {
                Ok(o) => o,
                Err(reply) => return *reply,
            };
            let response = next.run(request).await;
            if let Some(id) = session_of(response.headers()) {
                opening.opened(Arc::from(id));
            }
            response
        }
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// A response body that keeps `_held` until it ends or is dropped.
struct Holding<T> {
    body: Body,
    _held: T,
}

impl<T: Send + Unpin + 'static> http_body::Body for Holding<T> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_strict() {
        for ok in ["localhost", "localhost:8787", "127.0.0.1:1", "[::1]:8787", "[::1]", "gw.internal:", "a.b"] {
            assert!(valid_authority(ok), "{ok}");
        }
        for bad in ["evil@localhost", "localhost:abc", "localhost:99999", "", ":80", "a/b", "host:1:2", "[::1]x"] {
            assert!(!valid_authority(bad), "{bad}");
        }
        let mut headers = HeaderMap::new();
        headers.append(header::HOST, HeaderValue::from_static("localhost"));
        assert!(check_host(&headers, None, Version::HTTP_11).is_ok());
        headers.append(header::HOST, HeaderValue::from_static("localhost"));
        assert_eq!(check_host(&headers, None, Version::HTTP_11), Err("more than one Host header"));
        assert!(check_host(&HeaderMap::new(), None, Version::HTTP_11).is_err());
        assert!(check_host(&HeaderMap::new(), Some("localhost:1"), Version::HTTP_2).is_ok());
    }

    fn status(body: &str) -> StatusCode {
        read_message(body.as_bytes()).unwrap_err().status()
    }

    #[test]
    fn messages_are_json_rpc() {
        let request = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        assert_eq!(
            read_message(request("1").as_bytes()).unwrap(),
            Message::Request { id: json!(1), method: "ping".into() }
        );
        assert!(read_message(request("\"a\"").as_bytes()).is_ok());
        for bad in ["null", "1.5", "{}", "[]", "true"] {
            assert_eq!(status(&request(bad)), StatusCode::BAD_REQUEST, "{bad}");
        }
        assert_eq!(status("{not json"), StatusCode::BAD_REQUEST);
        assert_eq!(status(&format!("[{}]", request("1"))), StatusCode::BAD_REQUEST);
        assert_eq!(status(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), StatusCode::BAD_REQUEST);
        assert!(read_message(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_ok());
        assert!(read_message(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#).is_ok());
        let call = |args: &str| {
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"t","arguments":{args}}}}}"#)
        };
        assert!(read_message(call("{}").as_bytes()).is_ok());
        assert!(read_message(call("null").as_bytes()).is_ok());
        for bad in ["[1]", "\"x\"", "3"] {
            let reply = read_message(call(bad).as_bytes()).unwrap_err();
            assert_eq!(reply.status(), StatusCode::OK, "{bad}");
        }
    }
}
