//! Agent calls: `publish`, `get` and `queue_info`, each on a channel of its own.
//!
//! `get` takes messages with acknowledgements on and, unless `ack: true`, hands them back with
//! `basic.nack(requeue)`, so reading does not consume them (they come back flagged
//! `redelivered`). `readOnly` tools refuse `publish` and `ack: true`.

use async_trait::async_trait;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::RabbitTool;
use crate::connection::{Connection, Phase};
use crate::values::{body_from_json, bytes_to_json, table_from_json, table_to_json};

/// Messages one `get` takes at most, whatever the caps.
const MAX_GET: u64 = 1000;

/// One call, read from its arguments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operation {
    /// Publishes one message.
    Publish { exchange: String, routing_key: String, body: Vec<u8>, properties: Properties },
    /// Takes up to `count` messages, acknowledging them only when `ack`.
    Get { queue: String, count: u64, ack: bool },
    /// Message and consumer counts of a queue.
    QueueInfo { queue: String },
}

/// The message properties a call may set.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Properties {
    headers: Option<FieldTable>,
    content_type: Option<String>,
    message_id: Option<String>,
    persistent: bool,
}

impl Operation {
    /// Reads the call's arguments.
    pub(crate) fn from_arguments(args: &Map<String, Value>) -> Result<Self> {
        let op = string(args, "operation")?.ok_or_else(|| {
            Error::invalid_input("run a rabbitmq call: missing `operation` (publish, get or queue_info)")
        })?;
        let allowed: &[&str] = match op.as_str() {
            "publish" => {
                &["operation", "exchange", "routing_key", "body", "headers", "content_type", "message_id", "persistent"]
            }
            "get" => &["operation", "queue", "count", "ack"],
            "queue_info" => &["operation", "queue"],
            other => {
                return Err(Error::invalid_input(format!(
                    "run a rabbitmq call: unknown operation `{other}`; use publish, get or queue_info"
                )));
            }
        };
        if let Some(extra) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::invalid_input(format!(
                "run rabbitmq `{op}`: it takes no `{extra}`; it takes {}",
                allowed.join(", ")
            )));
        }
        Ok(match op.as_str() {
            "publish" => {
                let headers = match args.get("headers") {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(h)) => Some(table_from_json(h, "headers")?),
                    Some(_) => return Err(Error::invalid_input("read `headers`: use an object")),
                };
                let exchange = string(args, "exchange")?.unwrap_or_default();
                let routing_key = string(args, "routing_key")?.unwrap_or_default();
                if exchange.is_empty() && routing_key.is_empty() {
                    return Err(Error::invalid_input(
                        "run rabbitmq `publish`: name an `exchange`, or a `routing_key` (the queue, on the default exchange)",
                    ));
                }
                Operation::Publish {
                    exchange,
                    routing_key,
                    body: body_from_json(args.get("body"))?,
                    properties: Properties {
                        headers,
                        content_type: string(args, "content_type")?,
                        message_id: string(args, "message_id")?,
                        persistent: boolean(args, "persistent")?.unwrap_or(false),
                    },
                }
            }
            "get" => {
                let count = match args.get("count") {
                    None | Some(Value::Null) => 1,
                    Some(v) => v.as_u64().filter(|n| (1..=MAX_GET).contains(n)).ok_or_else(|| {
                        Error::invalid_input(format!("read `count`: use a number from 1 to {MAX_GET}"))
                    })?,
                };
                Operation::Get { queue: queue(args)?, count, ack: boolean(args, "ack")?.unwrap_or(false) }
            }
            _ => Operation::QueueInfo { queue: queue(args)? },
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Operation::Publish { .. } => "publish",
            Operation::Get { .. } => "get",
            Operation::QueueInfo { .. } => "queue_info",
        }
    }

    /// Refuses what a read-only tool may not do.
    pub(crate) fn check_read_only(&self) -> Result<()> {
        let refused = match self {
            Operation::Publish { .. } => "run rabbitmq `publish`: the tool is read-only",
            Operation::Get { ack: true, .. } => {
                "run rabbitmq `get` with `ack: true`: the tool is read-only; without `ack` the messages are requeued"
            }
            _ => return Ok(()),
        };
        Err(Error::new(ErrorKind::Denied, refused))
    }
}

fn string(args: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid_input(format!("read `{key}`: use a string"))),
    }
}

fn boolean(args: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Error::invalid_input(format!("read `{key}`: use true or false"))),
    }
}

fn queue(args: &Map<String, Value>) -> Result<String> {
    match string(args, "queue")? {
        Some(q) if !q.is_empty() => Ok(q),
        _ => Err(Error::invalid_input("run a rabbitmq call: missing `queue`")),
    }
}

fn short(text: &str, what: &str) -> Result<ShortString> {
    ShortString::try_new(text.to_owned())
        .map_err(|_| Error::invalid_input(format!("read `{what}`: it is longer than 255 bytes")))
}

#[async_trait]
impl Invoker for RabbitTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let op = Operation::from_arguments(&call.arguments)?;
        if self.read_only {
            op.check_read_only()?;
        }
        let conn = &self.conn;
        let running = async {
            let channel = conn.channel().await?;
            let result = run(conn, &channel, &op, &call.limits).await;
            let _ = channel.close(200, "done".into()).await;
            result
        };
        let result = within(conn, op.name(), call.limits.timeout, running).await;
        if result.as_ref().is_err_and(|e| e.kind() == ErrorKind::Auth) {
            conn.reset().await;
        }
        result
    }
}

/// Runs `fut` within the call's timeout.
pub(crate) async fn within<T>(
    conn: &Connection,
    op: &str,
    timeout: std::time::Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(conn.timeout(&format!("run rabbitmq `{op}`"), timeout)),
    }
}

/// Runs `op` on `channel`. Errors name the server through `conn`.
pub(crate) async fn run(
    conn: &Connection,
    channel: &Channel,
    op: &Operation,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let fail = |e: lapin::Error, action: &str| conn.error(e, action, Phase::Operate);
    match op {
        Operation::QueueInfo { queue } => {
            let options = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
            let q = channel
                .queue_declare(short(queue, "queue")?, options, FieldTable::default())
                .await
                .map_err(|e| fail(e, "read the queue (queue.declare passive)").with_context("queue", queue))?;
            let content = json!({"queue": queue, "messages": q.message_count(), "consumers": q.consumer_count()});
            Ok(InvokeOutput::new(content))
        }
        Operation::Publish { exchange, routing_key, body, properties } => {
            channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(|e| fail(e, "enable confirms"))?;
            let mut props = BasicProperties::default();
            if let Some(h) = &properties.headers {
                props = props.with_headers(h.clone());
            }
            if let Some(t) = &properties.content_type {
                props = props.with_content_type(short(t, "content_type")?);
            }
            if let Some(id) = &properties.message_id {
                props = props.with_message_id(short(id, "message_id")?);
            }
            if properties.persistent {
                props = props.with_delivery_mode(2);
            }
            // `mandatory`: a message no queue takes comes back, and the result says so.
            let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
            let action = "publish the message";
            let with_target = |e: Error| e.with_context("exchange", exchange).with_context("routing key", routing_key);
            let confirm = channel
                .basic_publish(short(exchange, "exchange")?, short(routing_key, "routing_key")?, options, body, props)
                .await
                .map_err(|e| with_target(fail(e, action)))?
                .await
                .map_err(|e| with_target(fail(e, action)))?;
            let routed = match confirm {
                Confirmation::Ack(returned) => returned.is_none(),
                Confirmation::Nack(_) => {
                    return Err(with_target(Error::new(
                        ErrorKind::Upstream,
                        "publish the message: the server refused it (nack)",
                    )));
                }
                Confirmation::NotRequested => true,
            };
            let content = json!({
                "published": true, "exchange": exchange, "routing_key": routing_key,
                "routed": routed, "bytes": body.len()
            });
            Ok(InvokeOutput::new(content))
        }
        Operation::Get { queue, count, ack } => get(conn, channel, queue, *count, *ack, limits).await,
    }
}

async fn get(
    conn: &Connection,
    channel: &Channel,
    queue: &str,
    count: u64,
    ack: bool,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let fail = |e: lapin::Error, action: &str| conn.error(e, action, Phase::Operate).with_context("queue", queue);
    let name = short(queue, "queue")?;
    let wanted = count.min(u64::try_from(limits.max_rows).unwrap_or(u64::MAX));
    let mut messages = Vec::new();
    let mut bytes = 0usize;
    let mut remaining = 0u64;
    let mut last_tag = None;
    let mut truncated = false;
    while (messages.len() as u64) < wanted {
        let got = channel
            .basic_get(name.clone(), BasicGetOptions { no_ack: false })
            .await
            .map_err(|e| fail(e, "get a message (basic.get)"))?;
        let Some(got) = got else {
            remaining = 0;
            break;
        };
        remaining = u64::from(got.message_count);
        last_tag = Some(got.delivery.delivery_tag);
        let mut message = message_json(&got.delivery);
        let size = message.to_string().len() + 1;
        if bytes + size > limits.max_output_bytes {
            truncated = true;
            // The first message is kept with a shortened body rather than returning nothing.
            if messages.is_empty() && cut_body(&mut message, limits.max_output_bytes) {
                messages.push(message);
            }
            break;
        }
        bytes += size;
        messages.push(message);
    }
    if (messages.len() as u64) < count && remaining > 0 {
        truncated = true;
    }
    if let Some(tag) = last_tag {
        // Everything taken, including a message left out for the byte cap, is settled at once.
        if ack {
            channel
                .basic_ack(tag, BasicAckOptions { multiple: true })
                .await
                .map_err(|e| fail(e, "acknowledge the messages"))?;
        } else {
            channel
                .basic_nack(tag, BasicNackOptions { multiple: true, requeue: true })
                .await
                .map_err(|e| fail(e, "requeue the messages"))?;
        }
    }
    let returned = messages.len();
    let content = json!({
        "queue": queue,
        "messages": messages,
        "count": returned,
        "remaining": remaining,
        "acked": ack && last_tag.is_some(),
        "truncated": truncated,
    });
    let mut out = InvokeOutput::new(content);
    out.truncated = truncated;
    out.metadata.insert("rowCount".into(), Value::from(returned));
    Ok(out)
}

fn message_json(d: &lapin::message::Delivery) -> Value {
    let p = &d.properties;
    let mut props = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            props.insert(k.to_owned(), v);
        }
    };
    let text = |s: &Option<ShortString>| s.as_ref().map(|s| Value::String(s.as_str().to_owned()));
    put("content_type", text(p.content_type()));
    put("content_encoding", text(p.content_encoding()));
    put("headers", p.headers().as_ref().map(table_to_json));
    put("delivery_mode", p.delivery_mode().map(Value::from));
    put("priority", p.priority().map(Value::from));
    put("correlation_id", text(p.correlation_id()));
    put("reply_to", text(p.reply_to()));
    put("expiration", text(p.expiration()));
    put("message_id", text(p.message_id()));
    put("timestamp", p.timestamp().map(Value::from));
    put("type", text(p.kind()));
    put("user_id", text(p.user_id()));
    put("app_id", text(p.app_id()));
    json!({
        "exchange": d.exchange.as_str(),
        "routing_key": d.routing_key.as_str(),
        "redelivered": d.redelivered,
        "properties": props,
        "body": bytes_to_json(&d.data),
        "body_bytes": d.data.len(),
    })
}

/// Shortens a text body so the message fits `max` bytes of JSON; `false` when even an empty
/// body does not fit, or the body is binary.
fn cut_body(message: &mut Value, max: usize) -> bool {
    let Some(Value::String(body)) = message.get("body").cloned() else { return false };
    let overhead = message.to_string().len() + 1 - serde_json::to_string(&body).map_or(0, |s| s.len());
    // Quotes around the body, and the `"body_truncated":true` field added.
    let Some(room) = max.checked_sub(overhead + 2 + 24) else { return false };
    let mut keep = body.len().min(room);
    loop {
        while !body.is_char_boundary(keep) {
            keep -= 1;
        }
        let cut = &body[..keep];
        // JSON escapes make the text longer than its bytes; each byte dropped saves at least one.
        let len = serde_json::to_string(cut).map_or(usize::MAX, |s| s.len() - 2);
        if len <= room {
            message["body"] = Value::String(cut.to_owned());
            message["body_truncated"] = Value::Bool(true);
            return true;
        }
        keep -= (len - room).min(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn reads_operations() {
        let op = Operation::from_arguments(&args(json!({"operation": "get", "queue": "q", "count": 3}))).unwrap();
        assert_eq!(op, Operation::Get { queue: "q".into(), count: 3, ack: false });
        assert!(op.check_read_only().is_ok());
        let op = Operation::from_arguments(&args(json!({"operation": "get", "queue": "q", "ack": true}))).unwrap();
        assert_eq!(op.check_read_only().unwrap_err().kind(), ErrorKind::Denied);
        let op = Operation::from_arguments(&args(
            json!({"operation": "publish", "routing_key": "q", "body": "hi", "headers": {"a": 1}}),
        ))
        .unwrap();
        assert_eq!(op.check_read_only().unwrap_err().kind(), ErrorKind::Denied);
        for bad in [
            json!({}),
            json!({"operation": "purge", "queue": "q"}),
            json!({"operation": "get"}),
            json!({"operation": "get", "queue": "q", "count": 0}),
            json!({"operation": "queue_info", "queue": "q", "ack": true}),
            json!({"operation": "publish", "body": "x"}),
            json!({"operation": "publish", "routing_key": "q", "headers": []}),
        ] {
            let e = Operation::from_arguments(&args(bad.clone())).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn cuts_long_bodies_to_the_byte_cap() {
        let mut m = json!({"exchange": "", "body": "é\"".repeat(200)});
        assert!(cut_body(&mut m, 100));
        assert!(m.to_string().len() < 100, "{m}");
        assert_eq!(m["body_truncated"], true);
        let mut binary = json!({"body": {"$base64": "AAAA"}});
        assert!(!cut_body(&mut binary, 10));
    }
}
