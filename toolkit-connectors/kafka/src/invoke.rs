//! Agent calls: `list_topics`, `consume` and `produce`.
//!
//! `consume` reads one partition from an offset with plain fetch requests: no consumer group
//! and no committed offsets, so reading changes nothing on the brokers. `readOnly` tools refuse
//! `produce`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::Engine as _;
use rskafka::client::Client;
use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::record::Record;
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::KafkaTool;
use crate::connection::Connection;

/// Records one `consume` returns at most, whatever the caps.
const MAX_COUNT: u64 = 10_000;

/// How long one fetch waits for records to arrive.
const FETCH_WAIT_MS: i32 = 200;

/// Where `consume` starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// This offset.
    At(i64),
    /// The earliest record kept.
    Earliest,
    /// This many records before the end (`latest` alone: `count` before the end).
    Latest(Option<u64>),
}

/// One call, read from its arguments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operation {
    /// Topics and their partition counts.
    ListTopics,
    /// Records of one partition.
    Consume { topic: String, partition: i32, start: Start, count: u64, max_bytes: Option<usize> },
    /// Writes one record.
    Produce {
        topic: String,
        partition: i32,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        headers: BTreeMap<String, Vec<u8>>,
    },
}

impl Operation {
    /// Reads the call's arguments.
    pub(crate) fn from_arguments(args: &Map<String, Value>) -> Result<Self> {
        let op = string(args, "operation")?.ok_or_else(|| {
            Error::invalid_input("run a kafka call: missing `operation` (list_topics, consume or produce)")
        })?;
        let allowed: &[&str] = match op.as_str() {
            "list_topics" => &["operation"],
            "consume" => &["operation", "topic", "partition", "offset", "count", "max_bytes"],
            "produce" => &["operation", "topic", "partition", "key", "value", "headers"],
            other => {
                return Err(Error::invalid_input(format!(
                    "run a kafka call: unknown operation `{other}`; use list_topics, consume or produce"
                )));
            }
        };
        if let Some(extra) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::invalid_input(format!(
                "run kafka `{op}`: it takes no `{extra}`; it takes {}",
                allowed.join(", ")
            )));
        }
        let topic = || match string(args, "topic")? {
            Some(t) if !t.is_empty() => Ok(t),
            _ => Err(Error::invalid_input(format!("run kafka `{op}`: missing `topic`"))),
        };
        let partition = || match args.get("partition") {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::invalid_input("read `partition`: use a partition number from 0")),
        };
        Ok(match op.as_str() {
            "list_topics" => Operation::ListTopics,
            "consume" => {
                let count = match args.get("count") {
                    None | Some(Value::Null) => 10,
                    Some(v) => v.as_u64().filter(|n| (1..=MAX_COUNT).contains(n)).ok_or_else(|| {
                        Error::invalid_input(format!("read `count`: use a number from 1 to {MAX_COUNT}"))
                    })?,
                };
                let max_bytes = match args.get("max_bytes") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .filter(|n| *n > 0)
                            .and_then(|n| usize::try_from(n).ok())
                            .ok_or_else(|| Error::invalid_input("read `max_bytes`: use a positive number"))?,
                    ),
                };
                Operation::Consume { topic: topic()?, partition: partition()?, start: start(args)?, count, max_bytes }
            }
            _ => {
                let headers = match args.get("headers") {
                    None | Some(Value::Null) => BTreeMap::new(),
                    Some(Value::Object(h)) => h
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), bytes_from_json(v, &format!("headers.{k}"))?)))
                        .collect::<Result<_>>()?,
                    Some(_) => return Err(Error::invalid_input("read `headers`: use an object of strings")),
                };
                let opt = |key: &str| match args.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => bytes_from_json(v, key).map(Some),
                };
                Operation::Produce {
                    topic: topic()?,
                    partition: partition()?,
                    key: opt("key")?,
                    value: opt("value")?,
                    headers,
                }
            }
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Operation::ListTopics => "list_topics",
            Operation::Consume { .. } => "consume",
            Operation::Produce { .. } => "produce",
        }
    }

    /// Refuses what a read-only tool may not do.
    pub(crate) fn check_read_only(&self) -> Result<()> {
        match self {
            Operation::Produce { .. } => {
                Err(Error::new(ErrorKind::Denied, "run kafka `produce`: the tool is read-only"))
            }
            _ => Ok(()),
        }
    }
}

fn string(args: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid_input(format!("read `{key}`: use a string"))),
    }
}

/// `offset`: a number (negative: that many before the end), `earliest`, `latest` or `latest-N`.
fn start(args: &Map<String, Value>) -> Result<Start> {
    let bad = || Error::invalid_input("read `offset`: use a number, `earliest`, `latest` or `latest-N`");
    match args.get("offset") {
        None | Some(Value::Null) => Ok(Start::Earliest),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(o) if o >= 0 => Ok(Start::At(o)),
            Some(o) => Ok(Start::Latest(Some(o.unsigned_abs()))),
            None => Err(bad()),
        },
        Some(Value::String(s)) => match s.as_str() {
            "earliest" => Ok(Start::Earliest),
            "latest" => Ok(Start::Latest(None)),
            other => match other.strip_prefix("latest-") {
                Some(n) => n.parse().map(|n| Start::Latest(Some(n))).map_err(|_| bad()),
                None => other.parse::<i64>().ok().filter(|o| *o >= 0).map(Start::At).ok_or_else(bad),
            },
        },
        Some(_) => Err(bad()),
    }
}

/// Bytes of a key, value or header: a string as UTF-8, `{"$base64": ...}` as bytes, any other
/// JSON value as its JSON text.
fn bytes_from_json(value: &Value, path: &str) -> Result<Vec<u8>> {
    match value {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Object(o) if o.len() == 1 && o.contains_key("$base64") => match &o["$base64"] {
            Value::String(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| Error::invalid_input(format!("read `{path}.$base64`")).with_source(e)),
            _ => Err(Error::invalid_input(format!("read `{path}.$base64`: use a base64 string"))),
        },
        other => Ok(other.to_string().into_bytes()),
    }
}

/// A string when `bytes` are UTF-8, else `{"$base64": ...}`.
fn bytes_to_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_owned()),
        Err(_) => json!({"$base64": base64::engine::general_purpose::STANDARD.encode(bytes)}),
    }
}

#[async_trait]
impl Invoker for KafkaTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let op = Operation::from_arguments(&call.arguments)?;
        if self.read_only {
            op.check_read_only()?;
        }
        let conn = &self.conn;
        let running = async {
            let client = conn.client().await?;
            run(conn, &client, &op, &call.limits).await
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
        Err(_) => Err(conn.timeout(&format!("run kafka `{op}`"), timeout)),
    }
}

/// Runs `op` with `client`. Errors name the brokers through `conn`.
pub(crate) async fn run(
    conn: &Connection,
    client: &Client,
    op: &Operation,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    match op {
        Operation::ListTopics => {
            let mut topics = client.list_topics().await.map_err(|e| conn.error(e, "list topics"))?;
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            let total = topics.len();
            let mut rows = Vec::new();
            let mut bytes = 0;
            let mut truncated = false;
            for t in topics {
                let row = json!({"name": t.name, "partitions": t.partitions.len()});
                let size = row.to_string().len() + 1;
                if rows.len() >= limits.max_rows || bytes + size > limits.max_output_bytes {
                    truncated = true;
                    break;
                }
                bytes += size;
                rows.push(row);
            }
            let count = rows.len();
            let mut out =
                InvokeOutput::new(json!({"topics": rows, "count": count, "total": total, "truncated": truncated}));
            out.truncated = truncated;
            out.metadata.insert("rowCount".into(), Value::from(count));
            Ok(out)
        }
        Operation::Consume { topic, partition, start, count, max_bytes } => {
            consume(conn, client, topic, *partition, *start, *count, *max_bytes, limits).await
        }
        Operation::Produce { topic, partition, key, value, headers } => {
            let target = |e: Error| e.with_context("topic", topic).with_context("partition", partition);
            let pc = client
                .partition_client(topic.clone(), *partition, UnknownTopicHandling::Error)
                .await
                .map_err(|e| target(conn.error(e, "find the partition")))?;
            let record = Record {
                key: key.clone(),
                value: value.clone(),
                headers: headers.clone(),
                timestamp: rskafka::chrono::Utc::now(),
            };
            let offsets = pc
                .produce(vec![record], Compression::NoCompression)
                .await
                .map_err(|e| target(conn.error(e, "produce the record")))?;
            let offset = offsets.first().copied();
            Ok(InvokeOutput::new(json!({"topic": topic, "partition": partition, "offset": offset})))
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "the fields of one operation, passed through")]
async fn consume(
    conn: &Connection,
    client: &Client,
    topic: &str,
    partition: i32,
    start: Start,
    count: u64,
    max_bytes: Option<usize>,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let target = |e: Error| e.with_context("topic", topic).with_context("partition", partition);
    let pc = client
        .partition_client(topic.to_owned(), partition, UnknownTopicHandling::Error)
        .await
        .map_err(|e| target(conn.error(e, "find the partition")))?;
    let earliest =
        pc.get_offset(OffsetAt::Earliest).await.map_err(|e| target(conn.error(e, "read the earliest offset")))?;
    let latest = pc.get_offset(OffsetAt::Latest).await.map_err(|e| target(conn.error(e, "read the latest offset")))?;
    let from = match start {
        Start::At(o) => o,
        Start::Earliest => earliest,
        Start::Latest(back) => latest.saturating_sub(i64::try_from(back.unwrap_or(count)).unwrap_or(i64::MAX)),
    }
    .max(earliest);
    let max_bytes = max_bytes.unwrap_or(limits.max_output_bytes).min(limits.max_output_bytes);
    let wanted = count.min(u64::try_from(limits.max_rows).unwrap_or(u64::MAX));
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut next = from;
    let mut truncated = false;
    let mut high_watermark = latest;
    'fetch: while (records.len() as u64) < wanted && next < high_watermark {
        let fetch_bytes = i32::try_from(max_bytes.clamp(1024, 50 * 1024 * 1024)).unwrap_or(i32::MAX);
        let (batch, hw) = pc
            .fetch_records(next, 1..fetch_bytes, FETCH_WAIT_MS)
            .await
            .map_err(|e| target(conn.error(e, "fetch records")).with_context("offset", next))?;
        high_watermark = hw;
        if batch.is_empty() {
            break;
        }
        for r in batch {
            // A fetch starts at the batch holding `next`, which may begin earlier.
            if r.offset < next {
                continue;
            }
            if (records.len() as u64) >= wanted {
                break 'fetch;
            }
            let rec = &r.record;
            let headers: Map<String, Value> = rec.headers.iter().map(|(k, v)| (k.clone(), bytes_to_json(v))).collect();
            let row = json!({
                "offset": r.offset,
                "timestamp": rec.timestamp.to_rfc3339(),
                "key": rec.key.as_deref().map(bytes_to_json),
                "value": rec.value.as_deref().map(bytes_to_json),
                "headers": headers,
            });
            let size = row.to_string().len() + 1;
            if bytes + size > max_bytes {
                truncated = true;
                break 'fetch;
            }
            bytes += size;
            next = r.offset + 1;
            records.push(row);
        }
    }
    if (records.len() as u64) < count && next < high_watermark {
        truncated = true;
    }
    let returned = records.len();
    let content = json!({
        "topic": topic,
        "partition": partition,
        "records": records,
        "count": returned,
        "next_offset": next,
        "earliest_offset": earliest,
        "high_watermark": high_watermark,
        "truncated": truncated,
    });
    let mut out = InvokeOutput::new(content);
    out.truncated = truncated;
    out.metadata.insert("rowCount".into(), Value::from(returned));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn reads_operations() {
        let op = Operation::from_arguments(&args(json!({"operation": "consume", "topic": "t", "offset": "latest-5"})))
            .unwrap();
        assert_eq!(
            op,
            Operation::Consume {
                topic: "t".into(),
                partition: 0,
                start: Start::Latest(Some(5)),
                count: 10,
                max_bytes: None
            }
        );
        for (offset, want) in [
            (json!(3), Start::At(3)),
            (json!(-2), Start::Latest(Some(2))),
            (json!("earliest"), Start::Earliest),
            (json!("latest"), Start::Latest(None)),
            (json!("7"), Start::At(7)),
        ] {
            assert_eq!(start(&args(json!({"offset": offset}))).unwrap(), want);
        }
        let produce = Operation::from_arguments(&args(
            json!({"operation": "produce", "topic": "t", "key": "k", "value": {"a": 1}, "headers": {"h": {"$base64": "AQ=="}}}),
        ))
        .unwrap();
        let Operation::Produce { key, value, headers, .. } = &produce else { panic!() };
        assert_eq!((key.as_deref(), value.as_deref()), (Some(&b"k"[..]), Some(&br#"{"a":1}"#[..])));
        assert_eq!(headers["h"], [1]);
        assert_eq!(produce.check_read_only().unwrap_err().kind(), ErrorKind::Denied);
        for bad in [
            json!({}),
            json!({"operation": "delete"}),
            json!({"operation": "consume"}),
            json!({"operation": "consume", "topic": "t", "offset": "soon"}),
            json!({"operation": "consume", "topic": "t", "partition": -1}),
            json!({"operation": "consume", "topic": "t", "count": 0}),
            json!({"operation": "list_topics", "topic": "t"}),
            json!({"operation": "produce", "topic": "t", "headers": [1]}),
        ] {
            let e = Operation::from_arguments(&args(bad.clone())).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
