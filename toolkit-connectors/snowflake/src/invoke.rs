//! One SQL statement per call: `{query, params?}` in, `{columns, rows, rowCount, truncated}` out.
//!
//! The statement goes to `POST /api/v2/statements` with the tool's database, schema, warehouse
//! and role, and the call's timeout (the server stops it too). A statement still running after
//! the synchronous wait is polled, and cancelled when the call's time is up. Rows come in
//! partitions; further partitions are fetched only while the row and byte caps allow.
//!
//! `readOnly: true` is checked here with the read-only SQL check in Snowflake's dialect (one
//! statement that only reads). Snowflake has no read-only session or transaction: what the engine
//! enforces is the role the statements run with, so a read-only tool should name a role that
//! holds nothing but `USAGE` and `SELECT` grants.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{SqlDialect, check_read_only};

use crate::SnowflakeTool;
use crate::api::{Api, statement_request};
use crate::value::to_json;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on snowflake";

/// The arguments schema: a `query` and optional positional `params`.
pub(crate) fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "One SQL statement; `?` marks a parameter."},
            "params": {
                "type": "array",
                "description": "Values of the `?` parameters, in order.",
                "items": {"type": ["string", "number", "boolean", "null"]}
            }
        },
        "required": ["query"],
        "additionalProperties": false
    })
}

/// The `query` argument, refused when missing, not a string or blank.
pub(crate) fn query_argument(arguments: &Map<String, Value>) -> Result<&str> {
    match arguments.get("query") {
        Some(Value::String(q)) if !q.trim().is_empty() => Ok(q),
        Some(Value::String(_)) => Err(Error::invalid_input("read argument `query`: it is empty")),
        Some(_) => Err(Error::invalid_input("read argument `query`: expected a string")),
        None => Err(Error::invalid_input("read argument `query`: it is required")),
    }
}

/// The SQL API `bindings` of the `params` argument: `{"1": {"type": "TEXT", "value": "x"}}`.
pub(crate) fn bindings(arguments: &Map<String, Value>) -> Result<Option<Map<String, Value>>> {
    let params = match arguments.get("params") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid_input("read argument `params`: expected an array")),
    };
    let mut out = Map::new();
    for (i, p) in params.iter().enumerate() {
        let (type_, value) = match p {
            Value::Null => ("TEXT", Value::Null),
            Value::Bool(b) => ("BOOLEAN", Value::from(b.to_string())),
            Value::Number(n) if n.is_i64() || n.is_u64() => ("FIXED", Value::from(n.to_string())),
            Value::Number(n) => ("REAL", Value::from(n.to_string())),
            Value::String(s) => ("TEXT", Value::from(s.as_str())),
            _ => {
                return Err(Error::invalid_input(format!(
                    "read argument `params[{i}]`: expected a string, number, boolean or null"
                )));
            }
        };
        out.insert((i + 1).to_string(), json!({"type": type_, "value": value}));
    }
    Ok(Some(out))
}

/// Refuses what a read-only tool may not run.
pub(crate) fn check_read_only_sql(sql: &str) -> Result<()> {
    let verdict = check_read_only(SqlDialect::Snowflake, sql);
    if verdict.read_only {
        return Ok(());
    }
    Err(Error::new(ErrorKind::Denied, format!("{RUN_QUERY}: the tool is read-only"))
        .with_context("reason", verdict.reasons.join("; ")))
}

/// Runs one statement and collects its rows up to the caps.
pub(crate) async fn run(
    api: &Api,
    sql: &str,
    bindings: Option<Map<String, Value>>,
    read_only: bool,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    if read_only {
        check_read_only_sql(sql)?;
    }
    let deadline = Instant::now() + limits.timeout;
    let request = statement_request(&api.config, sql, bindings, limits.timeout);
    let first = api.execute(&request, deadline, RUN_QUERY).await?;
    let meta = first.result_set_meta_data.clone().unwrap_or_default();
    let mut set = RowSet::new(meta.row_type.iter().map(|c| c.name.as_str()), limits);
    push_rows(&mut set, &meta, &first.data);
    let partitions = meta.partition_info.len();
    for n in 1..partitions {
        if set.is_full() {
            // Rows are left in the partitions not fetched: mark the set truncated.
            set.push(Vec::new());
            break;
        }
        let handle = first.statement_handle.as_deref().ok_or_else(|| {
            api.error(ErrorKind::Upstream, RUN_QUERY).with_source("a result with partitions came without a handle")
        })?;
        let data = api.partition(handle, n, deadline, RUN_QUERY).await?;
        push_rows(&mut set, &meta, &data);
    }
    let mut out = set.into_output(None);
    out.metadata.insert("totalRows".into(), Value::from(meta.num_rows));
    if let Some(handle) = first.statement_handle {
        out.metadata.insert("statementHandle".into(), Value::from(handle));
    }
    Ok(out)
}

fn push_rows(set: &mut RowSet, meta: &crate::api::Metadata, data: &[Vec<Option<String>>]) {
    for row in data {
        let values = meta.row_type.iter().zip(row).map(|(c, raw)| to_json(c, raw.as_deref())).collect();
        if !set.push(values) {
            break;
        }
    }
}

#[async_trait]
impl Invoker for SnowflakeTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let sql = query_argument(&call.arguments)?;
        let bindings = bindings(&call.arguments)?;
        run(&self.api, sql, bindings, self.read_only, &call.limits).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_become_typed_bindings() {
        let args = json!({"query": "select ?", "params": ["a", 1, 1.5, true, null]});
        let b = bindings(args.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(b["1"], json!({"type": "TEXT", "value": "a"}));
        assert_eq!(b["2"], json!({"type": "FIXED", "value": "1"}));
        assert_eq!(b["3"], json!({"type": "REAL", "value": "1.5"}));
        assert_eq!(b["4"], json!({"type": "BOOLEAN", "value": "true"}));
        assert_eq!(b["5"], json!({"type": "TEXT", "value": null}));
        let bad = json!({"params": [[1]]});
        assert_eq!(bindings(bad.as_object().unwrap()).unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn read_only_refuses_writes() {
        assert!(check_read_only_sql("SELECT 1").is_ok());
        assert_eq!(check_read_only_sql("INSERT INTO t VALUES (1)").unwrap_err().kind(), ErrorKind::Denied);
        assert_eq!(check_read_only_sql("SELECT 1; DROP TABLE t").unwrap_err().kind(), ErrorKind::Denied);
    }
}
