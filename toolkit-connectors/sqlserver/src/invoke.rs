//! One SQL statement per call: `{query, params?}` in, `{columns, rows, rowCount, truncated}` out.
//!
//! Each call opens its own connection (at most `maxConnections` at once), runs the statement
//! (with `params` bound as `@P1`, `@P2`... through `sp_executesql`) and closes it. The first
//! result set is returned, capped by rows and bytes; later result sets are ignored. The call's
//! timeout bounds everything; on timeout the connection is dropped, which ends the batch.
//!
//! `readOnly: true`: SQL Server has no read-only transaction. The statement is checked with
//! toolkit-policy's read-only SQL check (T-SQL dialect); it then runs inside a transaction that
//! is always rolled back, so a write that slips past the check is undone by the engine; and the
//! connection asks for `ApplicationIntent=ReadOnly`, which routes it to a readable secondary
//! where an availability group has one. The lasting guard is the login's permissions
//! (`db_datareader`, see the permissions plan).

use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::{Map, Value, json};
use tiberius::{Query, QueryItem};
use tokio::time::Instant;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{SqlDialect, check_read_only};

use crate::SqlServerTool;
use crate::connect::{Connection, Connector, classify};
use crate::value::to_json;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on sqlserver";

/// The arguments schema: a `query` and optional positional `params`.
pub(crate) fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "One T-SQL statement; @P1, @P2... mark parameters."},
            "params": {
                "type": "array",
                "description": "Values of @P1, @P2..., in order.",
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

/// A bound parameter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// The `params` argument.
pub(crate) fn params(arguments: &Map<String, Value>) -> Result<Vec<Param>> {
    let items = match arguments.get("params") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Error::invalid_input("read argument `params`: expected an array")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(Param::Null),
            Value::Bool(b) => Ok(Param::Bool(*b)),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(Param::Int(i)),
                (None, Some(f)) => Ok(Param::Float(f)),
                _ => Err(Error::invalid_input(format!("read argument `params[{i}]`: the number is out of range"))),
            },
            Value::String(s) => Ok(Param::Text(s.clone())),
            _ => Err(Error::invalid_input(format!(
                "read argument `params[{i}]`: expected a string, number, boolean or null"
            ))),
        })
        .collect()
}

/// Refuses what a read-only tool may not run.
pub(crate) fn check_read_only_sql(sql: &str) -> Result<()> {
    let verdict = check_read_only(SqlDialect::MsSql, sql);
    if verdict.read_only {
        return Ok(());
    }
    Err(Error::new(ErrorKind::Denied, format!("{RUN_QUERY}: the tool is read-only"))
        .with_context("reason", verdict.reasons.join("; ")))
}

/// Runs one statement on a connection of its own.
pub(crate) async fn run(
    connector: &Connector,
    sql: &str,
    params: Vec<Param>,
    read_only: bool,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    if read_only {
        check_read_only_sql(sql)?;
    }
    let deadline = Instant::now() + limits.timeout;
    let (_permit, mut client) = connector.connect(read_only, deadline, RUN_QUERY).await?;
    let remaining = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(remaining, execute(&mut client, connector, sql, params, read_only, limits)).await {
        Ok(result) => result,
        Err(_) => Err(connector
            .error(ErrorKind::Timeout, RUN_QUERY)
            .with_source(format!("no result within the call's timeout ({:?})", limits.timeout))),
    }
}

async fn execute(
    client: &mut Connection,
    connector: &Connector,
    sql: &str,
    params: Vec<Param>,
    read_only: bool,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let fail = |e| classify(e, connector, RUN_QUERY);
    if read_only {
        client.simple_query("BEGIN TRANSACTION").await.map_err(fail)?.into_results().await.map_err(fail)?;
    }
    let mut query = Query::new(sql);
    for p in params {
        match p {
            Param::Null => query.bind(Option::<String>::None),
            Param::Bool(b) => query.bind(b),
            Param::Int(i) => query.bind(i),
            Param::Float(f) => query.bind(f),
            Param::Text(s) => query.bind(s),
        }
    }
    let mut stream = query.query(client).await.map_err(fail)?;
    let mut set: Option<RowSet> = None;
    let mut stopped = false;
    while let Some(item) = stream.try_next().await.map_err(fail)? {
        match item {
            QueryItem::Metadata(meta) if meta.result_index() == 0 => {
                set = Some(RowSet::new(meta.columns().iter().map(|c| c.name()), limits));
            }
            QueryItem::Row(row) if row.result_index() == 0 => {
                let set = set.get_or_insert_with(|| RowSet::new(row.columns().iter().map(|c| c.name()), limits));
                if set.is_full() {
                    set.push(Vec::new());
                    // A read-only call stops here: dropping the connection ends the batch and
                    // rolls the transaction back. A write is read to its end so that it completes.
                    if read_only {
                        stopped = true;
                        break;
                    }
                    continue;
                }
                set.push(row.into_iter().map(|d| to_json(&d)).collect());
            }
            _ => {}
        }
    }
    drop(stream);
    if read_only && !stopped {
        client.simple_query("ROLLBACK TRANSACTION").await.map_err(fail)?.into_results().await.map_err(fail)?;
    }
    Ok(set.unwrap_or_else(|| RowSet::new([], limits)).into_output(None))
}

#[async_trait]
impl Invoker for SqlServerTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let sql = query_argument(&call.arguments)?;
        let params = params(&call.arguments)?;
        run(&self.connector, sql, params, self.read_only, &call.limits).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_params_and_refuses_writes_when_read_only() {
        let args = json!({"query": "SELECT @P1", "params": [null, true, 3, 1.5, "x"]});
        assert_eq!(
            params(args.as_object().unwrap()).unwrap(),
            [Param::Null, Param::Bool(true), Param::Int(3), Param::Float(1.5), Param::Text("x".into())]
        );
        assert_eq!(params(json!({"params": [{}]}).as_object().unwrap()).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(check_read_only_sql("SELECT TOP 5 * FROM dbo.t").is_ok());
        for sql in ["UPDATE dbo.t SET a = 1 WHERE b = 2", "SELECT 1; DROP TABLE dbo.t", "EXEC sp_configure"] {
            assert_eq!(check_read_only_sql(sql).unwrap_err().kind(), ErrorKind::Denied, "{sql}");
        }
    }
}
