//! Console sign-in sessions: held in this process's memory under a random id (the cookie),
//! each with the caller it signed in as, its own CSRF token and an expiry. A restart signs
//! everyone out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq as _;
use toolkit_runtime::Caller;

/// How long a session lasts from sign-in.
pub(super) const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// Sessions held at most; past it the one closest to expiry is dropped.
const MAX_SESSIONS: usize = 10_000;

/// The cookie of a signed-in session.
pub(super) const SESSION_COOKIE: &str = "toolkit_console";

/// The cookie of the sign-in form's CSRF token (double submit: the form carries it too).
pub(super) const LOGIN_COOKIE: &str = "toolkit_console_login";

/// One signed-in browser.
#[derive(Clone)]
pub(crate) struct Session {
    /// Who signed in; never holds the access token it signed in with.
    pub caller: Caller,
    /// The token every state-changing form of this session carries.
    pub csrf: String,
    /// The SHA-256 of the tokens-file token it signed in with: each request finds the caller
    /// again in the tokens loaded now, so a token removed or narrowed takes effect at once.
    pub token_digest: Option<[u8; 32]>,
    expires: Instant,
}

/// The sessions of one gateway.
#[derive(Clone, Default)]
pub(super) struct Sessions {
    held: Arc<Mutex<HashMap<String, Session>>>,
}

impl Sessions {
    /// Starts a session for `caller` (who signed in with the tokens-file token of
    /// `token_digest`, if so) for `lifetime`, at most [`SESSION_LIFETIME`]; returns its id (the
    /// cookie's value).
    pub fn start(&self, caller: &Caller, token_digest: Option<[u8; 32]>, lifetime: Duration) -> (String, Session) {
        let session = Session {
            caller: without_token(caller),
            csrf: random_token(),
            token_digest,
            expires: Instant::now() + lifetime.min(SESSION_LIFETIME),
        };
        let id = random_token();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        held.retain(|_, s| s.expires > now);
        if held.len() >= MAX_SESSIONS
            && let Some(oldest) = held.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
        {
            held.remove(&oldest);
        }
        held.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with id `id`.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        match held.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                held.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

/// `caller` without the access token it authenticated with: a session never holds one.
pub(super) fn without_token(caller: &Caller) -> Caller {
    Caller { id: caller.id.clone(), scope: caller.scope.clone(), subject_token: None }
}

/// 32 random bytes from the operating system, hex.
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without randomness no session can be safe; the OS source failing is not recoverable.
    getrandom::fill(&mut bytes).expect("read the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two tokens are equal, compared in constant time.
pub(super) fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value for the console: `HttpOnly; SameSite=Strict; Path=/ui`, `Secure` when
/// the browser reaches the gateway through TLS, and `Max-Age` (0 removes it).
pub(super) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age={}{secure}", max_age.as_secs());
    // Names are constants and values hex, so the text is always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_end_and_carry_no_access_token() {
        let sessions = Sessions::default();
        let caller = Caller::new("oidc:a@b").with_subject_token(toolkit_core::SecretString::new("access"));
        let (id, session) = sessions.start(&caller, None, SESSION_LIFETIME);
        assert_eq!(id.len(), 64);
        assert!(session.caller.subject_token.is_none());
        assert_eq!(sessions.get(&id).unwrap().csrf, session.csrf);
        assert_ne!(session.csrf, id);
        sessions.end(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn cookies_and_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; toolkit_console=abc ; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("", ""));
        let value = set_cookie(SESSION_COOKIE, "abc", SESSION_LIFETIME, true);
        assert_eq!(
            value.to_str().unwrap(),
            "toolkit_console=abc; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=28800; Secure"
        );
    }
}
