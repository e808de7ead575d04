//! Agent calls: one SQL statement over the HTTP interface, its rows as JSON.
//!
//! The crate's typed row API needs a Rust type per query, which arbitrary agent SQL has none of,
//! so the result is fetched as raw `JSONCompact` bytes and read as it streams: the `meta` block
//! names the columns and each data row is one line, so reading stops (and the server's query is
//! cancelled) as soon as a row or byte cap is reached.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{SqlDialect, check_read_only};

use crate::ClickhouseTool;
use crate::connection::server_error;

const RUN: &str = "run a clickhouse query";

/// The SQL text and bound values of a call.
pub(crate) fn sql_from_arguments(args: &Map<String, Value>) -> Result<(String, Vec<Value>)> {
    let sql = match args.get("sql") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(Error::invalid_input("run a clickhouse query: the `sql` argument (a string) is required")),
    };
    let params = match args.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values.clone(),
        Some(_) => return Err(Error::invalid_input("run a clickhouse query: `params` must be an array")),
    };
    Ok((sql, params))
}

#[async_trait]
impl Invoker for ClickhouseTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let (sql, params) = sql_from_arguments(&call.arguments)?;
        self.run(&sql, &params, &call.limits).await
    }
}

impl ClickhouseTool {
    /// Runs one statement within `limits`. A read-only tool checks the text with the SQL
    /// classifier and sends `readonly=1` with the query, so the server refuses writes too.
    pub(crate) async fn run(&self, sql: &str, params: &[Value], limits: &CallLimits) -> Result<InvokeOutput> {
        let sql = sql.trim().trim_end_matches(';').trim();
        if sql.is_empty() {
            return Err(Error::invalid_input(format!("{RUN}: the statement is empty")));
        }
        if self.read_only {
            let verdict = check_read_only(SqlDialect::ClickHouse, sql);
            if !verdict.read_only {
                return Err(Error::new(ErrorKind::Denied, format!("{RUN}: the tool is read-only"))
                    .with_context("reason", verdict.reasons.join("; ")));
            }
        }
        let result = tokio::time::timeout(limits.timeout, self.fetch(sql, params, limits)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(Error::new(ErrorKind::Timeout, self.conn.at(RUN))
                .with_context("timeout", format!("{:?}", limits.timeout))),
        };
        self.conn.checked(result).await
    }

    async fn fetch(&self, sql: &str, params: &[Value], limits: &CallLimits) -> Result<InvokeOutput> {
        let client = self.conn.client().await?;
        let mut query = if params.is_empty() {
            // `?` is a placeholder only when values are bound.
            client.query_raw(sql)
        } else {
            params.iter().fold(client.query(sql), |q, v| q.bind(v))
        };
        if self.read_only {
            query = query.with_setting("readonly", "1");
        }
        let mut cursor = query.fetch_bytes("JSONCompact").map_err(|e| self.conn.classify(e, RUN))?;
        let started = Instant::now();
        let mut reader = Reader::new(limits);
        while let Some(chunk) = cursor.next().await.map_err(|e| self.conn.classify(e, RUN))? {
            if reader.feed(&chunk).map_err(|text| server_error(&self.conn.at(RUN), &text))? {
                break;
            }
        }
        let mut out = reader.finish().map_err(|text| server_error(&self.conn.at(RUN), &text))?;
        out.metadata.insert("elapsedMs".into(), Value::from(started.elapsed().as_millis() as u64));
        Ok(out)
    }
}

/// Reads a `JSONCompact` body line by line into a [`RowSet`].
pub(crate) struct Reader {
    limits: CallLimits,
    pending: Vec<u8>,
    header: String,
    rows: Option<RowSet>,
    state: State,
    raw_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Header,
    Data,
    Done,
}

impl Reader {
    pub(crate) fn new(limits: &CallLimits) -> Self {
        Self {
            limits: *limits,
            pending: Vec::new(),
            header: String::new(),
            rows: None,
            state: State::Header,
            raw_bytes: 0,
        }
    }

    /// Takes one chunk; `Ok(true)` when no more is needed. `Err` holds the server's error text
    /// when the body is one (an exception written after the rows began, or a statement's own
    /// `FORMAT`).
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> std::result::Result<bool, String> {
        self.raw_bytes += chunk.len();
        self.pending.extend_from_slice(chunk);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if self.line(&line)? {
                return Ok(true);
            }
        }
        // A header that never ends is not JSONCompact.
        if self.state == State::Header && self.header.len() > 1 << 20 {
            return Err("the answer is not in the JSONCompact format".into());
        }
        Ok(false)
    }

    fn line(&mut self, line: &str) -> std::result::Result<bool, String> {
        let t = line.trim();
        match self.state {
            State::Done => Ok(true),
            State::Header => {
                if self.header.is_empty() && !t.is_empty() && t != "{" {
                    return Err(format!("{t} (the statement must not set its own FORMAT)"));
                }
                if t == "\"data\":" {
                    let header: Value = serde_json::from_str(&format!("{}\"data\": []}}", self.header))
                        .map_err(|_| "the answer's column list is not JSON".to_owned())?;
                    let columns: Vec<&str> =
                        header["meta"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
                    self.rows = Some(RowSet::new(columns, &self.limits));
                    self.state = State::Data;
                } else {
                    self.header.push_str(line);
                    self.header.push('\n');
                }
                Ok(false)
            }
            State::Data => {
                if t == "[" || t.is_empty() {
                    return Ok(false);
                }
                if t == "]" || t == "]," {
                    self.state = State::Done;
                    return Ok(true);
                }
                let row = t.strip_suffix(',').unwrap_or(t);
                let values: Vec<Value> = match serde_json::from_str(row) {
                    Ok(Value::Array(values)) => values,
                    _ => return Err(t.to_owned()),
                };
                let rows = self.rows.as_mut().expect("rows begin after the header");
                if !rows.push(values) {
                    self.state = State::Done;
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }

    /// The output: rows for a result set, nothing for a statement without one.
    pub(crate) fn finish(mut self) -> std::result::Result<InvokeOutput, String> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.line(&String::from_utf8_lossy(&rest))?;
        }
        match (self.state, self.rows) {
            (_, Some(rows)) => Ok(rows.into_output(None)),
            (State::Header, None) if self.header.trim().is_empty() => {
                Ok(RowSet::new([], &self.limits).into_output(None))
            }
            _ => Err(self.header.trim().chars().take(500).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "{\n\t\"meta\":\n\t[\n\t\t{\n\t\t\t\"name\": \"a\",\n\t\t\t\"type\": \"UInt8\"\n\t\t},\n\t\t{\n\t\t\t\"name\": \"b\",\n\t\t\t\"type\": \"String\"\n\t\t}\n\t],\n\n\t\"data\":\n\t[\n\t\t[1, \"x\\ny\"],\n\t\t[2, \"z\"],\n\t\t[3, \"w\"]\n\t],\n\n\t\"rows\": 3\n}\n";

    fn read(body: &str, limits: CallLimits, chunk: usize) -> std::result::Result<InvokeOutput, String> {
        let mut r = Reader::new(&limits);
        for c in body.as_bytes().chunks(chunk) {
            if r.feed(c)? {
                break;
            }
        }
        r.finish()
    }

    #[test]
    fn reads_rows_in_any_chunking() {
        for chunk in [1, 7, 4096] {
            let out = read(BODY, CallLimits::default(), chunk).unwrap();
            assert_eq!(out.content["columns"], serde_json::json!(["a", "b"]));
            assert_eq!(out.content["rows"][0]["b"], "x\ny");
            assert_eq!(out.content["rowCount"], 3);
            assert!(!out.truncated);
        }
        let out = read(BODY, CallLimits { max_rows: 2, ..CallLimits::default() }, 5).unwrap();
        assert_eq!((out.content["rowCount"].as_u64(), out.truncated), (Some(2), true));
    }

    #[test]
    fn statements_without_rows_and_errors() {
        let out = read("", CallLimits::default(), 10).unwrap();
        assert_eq!(out.content["rowCount"], 0);
        let err = read("1\n2\n", CallLimits::default(), 10).unwrap_err();
        assert!(err.contains("FORMAT"), "{err}");
        let broken = BODY.replace("[3, \"w\"]", "Code: 241, e.displayText() = DB::Exception: Memory limit");
        let err = read(&broken, CallLimits::default(), 10).unwrap_err();
        assert!(err.starts_with("Code: 241"), "{err}");
    }
}
