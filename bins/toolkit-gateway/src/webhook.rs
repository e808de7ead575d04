//! Approval notifications: each new pending request (and, when asked, each decision) posted as
//! JSON to the `--approval-webhook` URLs, in a form Slack and Microsoft Teams incoming webhooks
//! accept (`text`, with the details beside it for other receivers).
//!
//! The runtime hands a request over and goes on: posts run in tasks of their own, at most
//! [`MAX_IN_FLIGHT`] at once (past that a notice is dropped with a warning), each attempt with a
//! [`ATTEMPT_TIMEOUT`], retried on a network error, a 429 or a 5xx ([`ATTEMPTS`] in all, with a
//! growing pause). A call never waits for a webhook. Webhook URLs are secrets (a Slack URL is
//! its own credential): logs name a webhook by its position only.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use toolkit_core::secret::SecretString;
use toolkit_runtime::ApprovalNotifier;
use toolkit_state::{ApprovalRecord, ApprovalState};
use url::Url;

/// Posts at once, all webhooks together.
pub const MAX_IN_FLIGHT: usize = 64;
/// Time one attempt gets, connecting included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per notice and webhook.
pub const ATTEMPTS: u32 = 3;
/// Characters of a command or query quoted in `text`.
const QUOTED: usize = 500;

/// Where notices go.
#[derive(Clone, Debug, Default)]
pub struct WebhookConfig {
    /// The webhook URLs (`--approval-webhook`, env `TOOLKIT_APPROVAL_WEBHOOKS`).
    pub urls: Vec<SecretString>,
    /// Also post decisions (`--approval-webhook-decisions`).
    pub decisions: bool,
    /// The gateway's address as people reach it (`--public-url`), for links to the console.
    pub public_url: Option<Url>,
}

/// The notifier the runtime is given.
pub struct Webhooks {
    urls: Arc<Vec<Url>>,
    decisions: bool,
    public_url: Option<Url>,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl Webhooks {
    /// Checks the URLs (http or https); the error names the webhook by position, never its URL.
    pub fn new(config: &WebhookConfig) -> toolkit_core::Result<Option<Self>> {
        if config.urls.is_empty() {
            return Ok(None);
        }
        let mut urls = Vec::with_capacity(config.urls.len());
        for (i, url) in config.urls.iter().enumerate() {
            match Url::parse(url.expose().trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => urls.push(u),
                _ => {
                    return Err(toolkit_core::Error::config(format!(
                        "use --approval-webhook number {}: it is not an http(s) URL",
                        i + 1
                    )));
                }
            }
        }
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| toolkit_core::Error::config("set up the webhook client").with_source(e))?;
        Ok(Some(Self {
            urls: Arc::new(urls),
            decisions: config.decisions,
            public_url: config.public_url.clone(),
            client,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }))
    }

    fn send(&self, message: Value) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        let body = Arc::new(message.to_string());
        for (i, url) in self.urls.iter().enumerate() {
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                tracing::warn!(webhook = i + 1, "approval webhook notice dropped: {MAX_IN_FLIGHT} posts are pending");
                continue;
            };
            let (client, url, body) = (self.client.clone(), url.clone(), body.clone());
            handle.spawn(async move {
                post(&client, &url, &body, i + 1).await;
                drop(permit);
            });
        }
    }

    /// The console's page of request `id`, when the public URL is known.
    fn link(&self, id: i64) -> Option<String> {
        let base = self.public_url.as_ref()?;
        let mut url = base.join("ui/approvals").ok()?;
        url.set_fragment(Some(&format!("approval-{id}")));
        Some(url.to_string())
    }
}

impl ApprovalNotifier for Webhooks {
    fn requested(&self, request: &ApprovalRecord) {
        self.send(message(request, self.link(request.id)));
    }

    fn decided(&self, request: &ApprovalRecord) {
        if self.decisions {
            self.send(message(request, self.link(request.id)));
        }
    }
}

/// One post, retried; failures are logged with the webhook's position.
async fn post(client: &reqwest::Client, url: &Url, body: &str, position: usize) {
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await;
        let retry = match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                let status = r.status();
                let again = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                tracing::warn!(webhook = position, attempt, %status, "approval webhook refused the notice");
                again
            }
            Err(e) => {
                tracing::warn!(webhook = position, attempt, error = %e.without_url(), "approval webhook unreachable");
                true
            }
        };
        if !retry || attempt == ATTEMPTS {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt - 1))).await;
    }
}

/// The command or query of a call, when its arguments hold one; otherwise the arguments as JSON.
fn command(arguments: &Value) -> String {
    const KEYS: [&str; 6] = ["command", "query", "sql", "statement", "script", "args"];
    let found = KEYS.iter().find_map(|k| arguments.get(*k));
    match found {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            shell_words::join(words)
        }
        _ => arguments.to_string(),
    }
}

fn quoted(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTED).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    // Backticks would end the code span of Slack's and Teams' markdown.
    out.replace('`', "'")
}

/// The JSON of a notice about `request`.
pub fn message(request: &ApprovalRecord, link: Option<String>) -> Value {
    let tool = request.tool.to_string();
    let command = command(&request.arguments);
    let id = request.id;
    let mut text = match request.state {
        ApprovalState::Pending => format!(
            "Approval {id} needed: {} wants to run `{}` on {tool} ({}; {}). Decide before {}.",
            request.caller,
            quoted(&command),
            request.class,
            request.reasons.join("; "),
            request.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ),
        state => {
            let by = request.decided_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
            let why = request.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            format!("Approval {id} for {} on {tool} was {}{by}{why}.", request.caller, state.as_str())
        }
    };
    match &link {
        Some(l) => text.push_str(&format!(" {l}")),
        None if request.state == ApprovalState::Pending => {
            text.push_str(&format!(" `toolkit approvals approve {id}` or `toolkit approvals reject {id}`"))
        }
        None => {}
    }
    let mut out = json!({
        "text": text,
        "event": if request.state == ApprovalState::Pending { "approval.requested" } else { "approval.decided" },
        "id": id,
        "state": request.state.as_str(),
        "tool": tool,
        "caller": request.caller,
        "command": command,
        "arguments": request.arguments,
        "class": request.class,
        "reasons": request.reasons,
        "requestedAt": request.time,
        "expiresAt": request.expires_at,
    });
    if let Some(by) = &request.decided_by {
        out["decidedBy"] = json!(by);
    }
    if let Some(reason) = &request.reason {
        out["reason"] = json!(reason);
    }
    if let Some(hash) = &request.call_hash {
        out["callHash"] = json!(hash);
    }
    if let Some(l) = link {
        out["url"] = json!(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ApprovalRecord {
        ApprovalRecord {
            id: 7,
            time: chrono::Utc::now(),
            expires_at: chrono::Utc::now(),
            tool: toolkit_core::ToolRef::new("prod", "psql"),
            caller: "token:ci".into(),
            arguments: json!({"query": "DELETE FROM `orders`"}),
            class: "write".into(),
            reasons: vec!["writes".into()],
            state: ApprovalState::Pending,
            decided_by: None,
            decided_at: None,
            reason: None,
            call_hash: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn a_pending_request_reads_as_one_line_with_its_command() {
        let m = message(&record(), Some("https://gw/ui/approvals#approval-7".into()));
        let text = m["text"].as_str().unwrap();
        assert!(
            text.starts_with("Approval 7 needed: token:ci wants to run `DELETE FROM 'orders'` on prod/psql"),
            "{text}"
        );
        assert!(text.ends_with("https://gw/ui/approvals#approval-7"));
        assert_eq!(m["event"], "approval.requested");
        assert_eq!(m["command"], "DELETE FROM `orders`");
        let no_link = message(&record(), None);
        assert!(no_link["text"].as_str().unwrap().contains("toolkit approvals approve 7"));
    }

    #[test]
    fn a_decision_names_who_and_why() {
        let mut r = record();
        r.state = ApprovalState::Rejected;
        r.decided_by = Some("local:bob".into());
        r.reason = Some("freeze".into());
        let m = message(&r, None);
        assert_eq!(m["text"], "Approval 7 for token:ci on prod/psql was rejected by local:bob: freeze.");
        assert_eq!(m["event"], "approval.decided");
    }

    #[test]
    fn commands_come_from_the_usual_argument_names() {
        assert_eq!(command(&json!({"args": ["get", "pods", "-n", "a b"]})), "get pods -n 'a b'");
        assert_eq!(command(&json!({"n": 1})), "{\"n\":1}");
    }

    #[test]
    fn bad_urls_are_refused_without_being_repeated() {
        let config = WebhookConfig {
            urls: vec![SecretString::new("hooks.slack.com/T0/B0/secretpart")],
            ..WebhookConfig::default()
        };
        let err = Webhooks::new(&config).err().unwrap().to_string();
        assert!(err.contains("number 1") && !err.contains("secretpart"), "{err}");
    }
}
