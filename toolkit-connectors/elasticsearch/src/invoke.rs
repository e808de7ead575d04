//! The agent-facing call: `search`, `get` and `count`, and on tools that may write `index` and
//! `delete`, on indices inside the tool's `index` restriction.

use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::EsTool;
use crate::index::check_expression;

/// The arguments a call may carry.
const ARGUMENTS: &[&str] =
    &["operation", "index", "query", "body", "size", "from", "sort", "id", "document", "refresh"];

/// What a call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `search`: hits of a query.
    Search,
    /// `get`: one document by id.
    Get,
    /// `count`: how many documents match a query.
    Count,
    /// `index`: stores `document` (under `id`, or a new id).
    Index,
    /// `delete`: deletes the document `id`.
    Delete,
}

impl Operation {
    /// Every operation, by its argument spelling.
    pub const ALL: &'static [(&'static str, Operation)] = &[
        ("search", Operation::Search),
        ("get", Operation::Get),
        ("count", Operation::Count),
        ("index", Operation::Index),
        ("delete", Operation::Delete),
    ];

    /// Whether it changes data.
    pub fn is_write(self) -> bool {
        matches!(self, Operation::Index | Operation::Delete)
    }
}

/// Characters kept as they are in a path segment (an index name or document id).
const SEGMENT: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'*').remove(b',');

/// Reads `id`: a document id, never `.` or `..`, which a URL would take as path steps.
fn id_arg<'a>(args: &'a Map<String, Value>, op: &str, required: bool) -> Result<Option<&'a str>> {
    match string_arg(args, "id")? {
        Some("." | "..") => Err(Error::invalid_input("read `id`: `.` and `..` are not document ids")),
        None if required => Err(Error::invalid_input(format!("run {op}: `id` is required"))),
        id => Ok(id),
    }
}

fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn string_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(Error::invalid_input(format!("read `{name}`: it must be a non-empty string"))),
    }
}

fn object_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<Option<&'a Map<String, Value>>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(Error::invalid_input(format!("read `{name}`: it must be a JSON object"))),
    }
}

fn count_arg(args: &Map<String, Value>, name: &str) -> Result<Option<u64>> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| Error::invalid_input(format!("read `{name}`: it must be a whole number of at least 0"))),
    }
}

#[async_trait]
impl Invoker for EsTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        self.run(&call.arguments, &call.limits).await
    }
}

impl EsTool {
    /// The index expression of a call, checked against the tool's restriction.
    fn index_of(&self, args: &Map<String, Value>, concrete: bool, op: &str) -> Result<Option<String>> {
        let given = string_arg(args, "index")?;
        let index = match (given, &self.client.config.index) {
            (Some(i), _) => i.to_owned(),
            (None, Some(p)) if !concrete => p.as_str(),
            (None, _) if !concrete => return Ok(None),
            (None, _) => return Err(Error::invalid_input(format!("run {op}: `index` is required"))),
        };
        check_expression(&index, concrete).map_err(|why| Error::invalid_input(format!("read `index`: {why}")))?;
        if let Some(p) = &self.client.config.index
            && !p.allows(&index)
        {
            return Err(Error::new(
                ErrorKind::Denied,
                format!("run {op} on `{index}`: the tool may reach only the indices `{}`", p.as_str()),
            ));
        }
        Ok(Some(index))
    }

    /// Runs one call's arguments; used by tool calls and session `exec`.
    pub(crate) async fn run(&self, args: &Map<String, Value>, limits: &CallLimits) -> Result<InvokeOutput> {
        if let Some(k) = args.keys().find(|k| !ARGUMENTS.contains(&k.as_str())) {
            return Err(Error::invalid_input(format!(
                "read the arguments: `{k}` is not one; they are {}",
                ARGUMENTS.join(", ")
            )));
        }
        let op_name =
            string_arg(args, "operation")?.ok_or_else(|| Error::invalid_input("read `operation`: it is required"))?;
        let op = Operation::ALL.iter().find(|(n, _)| *n == op_name).map(|(_, o)| *o).ok_or_else(|| {
            let names: Vec<&str> = Operation::ALL.iter().map(|(n, _)| *n).collect();
            Error::invalid_input(format!("run `{op_name}`: not an operation; use one of {}", names.join(", ")))
        })?;
        if op.is_write() && self.read_only {
            return Err(Error::new(
                ErrorKind::Denied,
                format!("run {op_name}: the tool is read-only; it runs search, get and count"),
            ));
        }
        match op {
            Operation::Search => self.search(args, limits).await,
            Operation::Count => {
                let index = self.index_of(args, false, "count")?;
                let mut body = Map::new();
                if let Some(q) = object_arg(args, "query")? {
                    body.insert("query".into(), Value::Object(q.clone()));
                }
                let path = format!("{}/_count", index.map(|i| format!("/{}", seg(&i))).unwrap_or_default());
                let reply = self.ok(Method::POST, &path, Some(&Value::Object(body)), limits, "count documents").await?;
                Ok(InvokeOutput::new(json!({"count": reply["count"]})))
            }
            Operation::Get => {
                let index = self.index_of(args, true, "get")?.unwrap_or_default();
                let id = id_arg(args, "get", true)?.unwrap_or_default();
                let path = format!("/{}/_doc/{}", seg(&index), seg(id));
                let action = format!("get document {id} of {index}");
                let reply = self.client.send(Method::GET, &path, None, limits.timeout, &action).await?;
                // A missing document is an answer, not an error; a missing index is an error.
                if reply.status == StatusCode::NOT_FOUND && reply.body["found"] == json!(false) {
                    return Ok(InvokeOutput::new(json!({"found": false, "_index": index, "_id": id})));
                }
                if !reply.status.is_success() {
                    return Err(self.client.status_error(&reply, &action));
                }
                let doc = json!({
                    "found": true, "_index": reply.body["_index"], "_id": reply.body["_id"],
                    "_version": reply.body["_version"], "_source": reply.body["_source"]
                });
                let size = doc.to_string().len();
                if size > limits.max_output_bytes {
                    let mut out = InvokeOutput::new(json!({
                        "found": true, "_index": reply.body["_index"], "_id": reply.body["_id"],
                        "truncated": true, "note": format!("the document is {size} bytes, over the cap")
                    }));
                    out.truncated = true;
                    return Ok(out);
                }
                Ok(InvokeOutput::new(doc))
            }
            Operation::Index => {
                let index = self.index_of(args, true, "index")?.unwrap_or_default();
                let doc = object_arg(args, "document")?
                    .ok_or_else(|| Error::invalid_input("run index: `document` is required"))?;
                let (method, path) = match id_arg(args, "index", false)? {
                    Some(id) => (Method::PUT, format!("/{}/_doc/{}", seg(&index), seg(id))),
                    None => (Method::POST, format!("/{}/_doc", seg(&index))),
                };
                let path = format!("{path}{}", refresh(args)?);
                let body = Value::Object(doc.clone());
                let reply =
                    self.ok(method, &path, Some(&body), limits, &format!("index a document into {index}")).await?;
                Ok(InvokeOutput::new(
                    json!({"_index": reply["_index"], "_id": reply["_id"], "result": reply["result"], "_version": reply["_version"]}),
                ))
            }
            Operation::Delete => {
                let index = self.index_of(args, true, "delete")?.unwrap_or_default();
                let id = id_arg(args, "delete", true)?.unwrap_or_default();
                let path = format!("/{}/_doc/{}{}", seg(&index), seg(id), refresh(args)?);
                let action = format!("delete document {id} of {index}");
                let reply = self.client.send(Method::DELETE, &path, None, limits.timeout, &action).await?;
                if reply.status == StatusCode::NOT_FOUND && reply.body["result"] == json!("not_found") {
                    return Ok(InvokeOutput::new(json!({"_index": index, "_id": id, "result": "not_found"})));
                }
                if !reply.status.is_success() {
                    return Err(self.client.status_error(&reply, &action));
                }
                Ok(InvokeOutput::new(
                    json!({"_index": reply.body["_index"], "_id": reply.body["_id"], "result": reply.body["result"]}),
                ))
            }
        }
    }

    /// Sends a request and returns the body of a 2xx reply; other statuses are errors.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        limits: &CallLimits,
        action: &str,
    ) -> Result<Value> {
        let reply = self.client.send(method, path, body, limits.timeout, action).await?;
        if reply.status.is_success() { Ok(reply.body) } else { Err(self.client.status_error(&reply, action)) }
    }

    async fn search(&self, args: &Map<String, Value>, limits: &CallLimits) -> Result<InvokeOutput> {
        let index = self.index_of(args, false, "search")?;
        let mut body = object_arg(args, "body")?.cloned().unwrap_or_default();
        if let Some(q) = object_arg(args, "query")? {
            body.insert("query".into(), Value::Object(q.clone()));
        }
        if let Some(s) = args.get("sort").filter(|v| !v.is_null()) {
            body.insert("sort".into(), s.clone());
        }
        // `size` in the arguments wins over one in `body`; either is capped by the row cap.
        let wanted = match count_arg(args, "size")? {
            Some(n) => Some(n),
            None => body
                .get("size")
                .map(|v| v.as_u64().ok_or_else(|| Error::invalid_input("read `body.size`: it must be a whole number")))
                .transpose()?,
        };
        let cap = limits.max_rows as u64;
        let size = wanted.map_or(cap, |w| w.min(cap));
        body.insert("size".into(), size.into());
        if let Some(from) = count_arg(args, "from")? {
            body.insert("from".into(), from.into());
        }
        let path = format!("{}/_search", index.as_ref().map(|i| format!("/{}", seg(i))).unwrap_or_default());
        let action = format!("search {}", index.as_deref().unwrap_or("all indices"));
        let reply = self.ok(Method::POST, &path, Some(&Value::Object(body)), limits, &action).await?;

        let total = reply["hits"]["total"]["value"].as_u64().or_else(|| reply["hits"]["total"].as_u64());
        let relation = reply["hits"]["total"]["relation"].as_str().unwrap_or("eq").to_owned();
        let mut rows = Vec::new();
        let mut bytes = 0usize;
        let mut cut = false;
        for hit in reply["hits"]["hits"].as_array().into_iter().flatten() {
            let mut row = Map::new();
            for key in ["_index", "_id", "_score", "_source", "fields", "highlight", "sort"] {
                if let Some(v) = hit.get(key).filter(|v| !v.is_null()) {
                    row.insert(key.into(), v.clone());
                }
            }
            let row = Value::Object(row);
            let n = row.to_string().len() + 1;
            if rows.len() as u64 >= size || bytes + n > limits.max_output_bytes {
                cut = true;
                break;
            }
            bytes += n;
            rows.push(row);
        }
        let returned = rows.len() as u64;
        // Cut by the cap: fewer hits than asked for (or than exist, when no size was asked)
        // because of the row cap, or rows left out for the byte cap.
        let capped = size < wanted.unwrap_or(u64::MAX) && total.is_some_and(|t| t > returned);
        let mut truncated = cut || capped;
        let mut content = json!({
            "rows": rows, "rowCount": returned, "total": total, "totalRelation": relation,
        });
        if let Some(aggs) = reply.get("aggregations") {
            if bytes + aggs.to_string().len() <= limits.max_output_bytes {
                content["aggregations"] = aggs.clone();
            } else {
                truncated = true;
                content["aggregationsOmitted"] = json!("the aggregations are over the byte cap");
            }
        }
        content["truncated"] = json!(truncated);
        let mut metadata = Map::new();
        metadata.insert("rowCount".into(), returned.into());
        Ok(InvokeOutput { content, truncated, metadata })
    }
}

/// `?refresh=wait_for` when the call asks that the change be searchable on return.
fn refresh(args: &Map<String, Value>) -> Result<&'static str> {
    match args.get("refresh") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(""),
        Some(Value::Bool(true)) => Ok("?refresh=wait_for"),
        Some(_) => Err(Error::invalid_input("read `refresh`: it must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_path_segments() {
        assert_eq!(seg("logs-*,a"), "logs-*,a");
        assert_eq!(seg("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
    }
}
