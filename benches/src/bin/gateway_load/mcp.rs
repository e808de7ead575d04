//! A minimal MCP client over streamable HTTP: raw JSON-RPC POSTs with `reqwest`, one session per
//! client (or none in stateless mode). Light on purpose, so the load generator takes as little
//! of the machine's two cores as it can.

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

const PROTOCOL: &str = "2025-11-25";

/// One MCP client with its own connection.
pub struct McpClient {
    http: reqwest::Client,
    url: String,
    headers: HeaderMap,
    next_id: u64,
}

impl McpClient {
    /// Connects: `initialize` and `notifications/initialized`, unless `stateless`.
    pub async fn connect(url: &str, stateless: bool) -> Result<Self, String> {
        let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().map_err(|e| e.to_string())?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
        headers.insert("mcp-protocol-version", HeaderValue::from_static(PROTOCOL));
        let mut client = Self { http, url: url.to_owned(), headers, next_id: 1 };
        if stateless {
            return Ok(client);
        }
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "gateway-load", "version": "1"}}});
        let resp = client.post(&init).await?;
        let session = resp.headers().get("mcp-session-id").cloned().ok_or("no Mcp-Session-Id in the answer")?;
        message(&resp.text().await.map_err(|e| e.to_string())?)?;
        client.headers.insert("mcp-session-id", session);
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        client.post(&done).await?;
        Ok(client)
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, String> {
        let resp = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        Ok(resp)
    }

    /// One `tools/call`; an error result (`isError`) is an error.
    pub async fn call(&mut self, tool: &str, arguments: &Value) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": arguments}});
        let text = self.post(&body).await?.text().await.map_err(|e| e.to_string())?;
        let reply = message(&text)?;
        match reply.get("result") {
            Some(r) if r.get("isError") != Some(&Value::Bool(true)) => Ok(()),
            Some(r) => Err(format!("tool error: {}", r["content"][0]["text"])),
            None => Err(format!("JSON-RPC error: {}", reply["error"])),
        }
    }
}

/// The JSON-RPC reply in a body that is JSON, or an SSE stream with one `data:` event.
fn message(text: &str) -> Result<Value, String> {
    let data = if text.trim_start().starts_with('{') {
        text
    } else {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .find(|d| d.starts_with('{'))
            .ok_or_else(|| format!("no message in the answer: {}", text.chars().take(200).collect::<String>()))?
    };
    serde_json::from_str(data).map_err(|e| format!("not JSON ({e}): {}", data.chars().take(200).collect::<String>()))
}
