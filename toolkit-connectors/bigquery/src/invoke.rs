//! One SQL statement per call: `{query, params?}` in, `{columns, rows, rowCount, truncated}` out.
//!
//! The statement runs with `jobs.query` (standard SQL, the call's timeout as the server-side
//! wait, pages of at most `maxRows` rows). An unfinished job is long-polled with
//! `jobs.getQueryResults` and cancelled when the call's time is up; further pages are fetched
//! only while the row and byte caps allow.
//!
//! `readOnly: true` is enforced in two layers: toolkit-policy's read-only SQL check in
//! BigQuery's dialect, then a dry run in which BigQuery itself parses the statement and reports
//! its `statementType`; anything but `SELECT` is refused before the statement runs.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{SqlDialect, check_read_only};

use crate::BigQueryTool;
use crate::api::{Api, QueryResponse};
use crate::value::row_to_json;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on bigquery";

/// Largest page BigQuery is asked for.
const MAX_PAGE: usize = 10_000;

/// The arguments schema: a `query` and optional positional `params`.
pub(crate) fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "One GoogleSQL statement; `?` marks a parameter."},
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

/// Positional `queryParameters` from the `params` argument.
pub(crate) fn parameters(arguments: &Map<String, Value>) -> Result<Option<Vec<Value>>> {
    let params = match arguments.get("params") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid_input("read argument `params`: expected an array")),
    };
    let mut out = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let (type_, value) = match p {
            Value::Null => ("STRING", None),
            Value::Bool(b) => ("BOOL", Some(b.to_string())),
            Value::Number(n) if n.is_i64() || n.is_u64() => ("INT64", Some(n.to_string())),
            Value::Number(n) => ("FLOAT64", Some(n.to_string())),
            Value::String(s) => ("STRING", Some(s.clone())),
            _ => {
                return Err(Error::invalid_input(format!(
                    "read argument `params[{i}]`: expected a string, number, boolean or null"
                )));
            }
        };
        let value = match value {
            Some(v) => json!({"value": v}),
            None => json!({}),
        };
        out.push(json!({"parameterType": {"type": type_}, "parameterValue": value}));
    }
    Ok(Some(out))
}

/// Runs one statement and collects its rows up to the caps.
pub(crate) async fn run(
    api: &Api,
    sql: &str,
    params: Option<Vec<Value>>,
    read_only: bool,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let deadline = Instant::now() + limits.timeout;
    let mut statement_type = None;
    if read_only {
        let verdict = check_read_only(SqlDialect::BigQuery, sql);
        if !verdict.read_only {
            return Err(Error::new(ErrorKind::Denied, format!("{RUN_QUERY}: the tool is read-only"))
                .with_context("reason", verdict.reasons.join("; ")));
        }
        let dry = api.dry_run(sql, params.as_deref(), deadline, RUN_QUERY).await?;
        if dry.statement_type != "SELECT" {
            return Err(Error::new(ErrorKind::Denied, format!("{RUN_QUERY}: the tool is read-only"))
                .with_context("statement type", &dry.statement_type)
                .with_context("reason", "bigquery's dry run says the statement is not a SELECT"));
        }
        statement_type = Some(dry.statement_type);
    }
    let page_size = limits.max_rows.clamp(1, MAX_PAGE);
    let wait =
        limits.timeout.saturating_sub(std::time::Duration::from_millis(100)).min(std::time::Duration::from_secs(10));
    let mut request = json!({
        "query": sql,
        "useLegacySql": false,
        "maxResults": page_size,
        "timeoutMs": wait.as_millis() as u64,
        "formatOptions": {"useInt64Timestamp": true},
    });
    if let Some(p) = params {
        request["parameterMode"] = json!("POSITIONAL");
        request["queryParameters"] = Value::Array(p);
    }
    let first = api.query(&request, page_size, deadline, RUN_QUERY).await?;
    let fields = first.schema.clone().unwrap_or_default().fields;
    let mut set = RowSet::new(fields.iter().map(|f| f.name.as_str()), limits);
    push_rows(&mut set, &fields, &first);
    let mut token = first.page_token.clone();
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        if set.is_full() {
            // Rows are left on pages not fetched: mark the set truncated.
            set.push(Vec::new());
            break;
        }
        let job = first.job_reference.as_ref().ok_or_else(|| {
            api.error(ErrorKind::Upstream, RUN_QUERY).with_source("a paged result came without a job reference")
        })?;
        let page = api.results(job, Some(&t), page_size, std::time::Duration::ZERO, deadline, RUN_QUERY).await?;
        push_rows(&mut set, &fields, &page);
        token = page.page_token;
    }
    let affected = first.num_dml_affected_rows.as_deref().and_then(|n| n.parse().ok());
    let mut out = set.into_output(affected);
    if let Some(job) = &first.job_reference {
        out.metadata.insert("jobId".into(), Value::from(job.job_id.as_str()));
    }
    if let Some(n) = first.total_rows.as_deref().and_then(|n| n.parse::<u64>().ok()) {
        out.metadata.insert("totalRows".into(), Value::from(n));
    }
    if let Some(n) = &first.total_bytes_processed {
        out.metadata.insert("totalBytesProcessed".into(), Value::from(n.as_str()));
    }
    if let Some(t) = statement_type {
        out.metadata.insert("statementType".into(), Value::from(t));
    }
    Ok(out)
}

fn push_rows(set: &mut RowSet, fields: &[crate::api::Field], page: &QueryResponse) {
    for row in &page.rows {
        if !set.push(row_to_json(fields, row)) {
            break;
        }
    }
}

#[async_trait]
impl Invoker for BigQueryTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let sql = query_argument(&call.arguments)?;
        let params = parameters(&call.arguments)?;
        run(&self.api, sql, params, self.read_only, &call.limits).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_become_positional_parameters() {
        let args = json!({"query": "select ?", "params": ["a", 1, 1.5, true, null]});
        let p = parameters(args.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(p[0], json!({"parameterType": {"type": "STRING"}, "parameterValue": {"value": "a"}}));
        assert_eq!(p[1]["parameterType"]["type"], "INT64");
        assert_eq!(p[2]["parameterType"]["type"], "FLOAT64");
        assert_eq!(p[3]["parameterValue"]["value"], "true");
        assert_eq!(p[4]["parameterValue"], json!({}));
        let bad = json!({"params": {"a": 1}});
        assert_eq!(parameters(bad.as_object().unwrap()).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
