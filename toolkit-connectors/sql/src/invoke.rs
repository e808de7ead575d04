//! What a SQL call does the same on every engine: the `{query}` argument, the columns and the
//! placeholder check of a prepared statement, the row loop with its caps, and the end of the
//! call's transaction. Beginning the transaction and the statement time limit are the engine's.

use std::future::Future;
use std::time::Duration;

use futures::{Stream, TryStreamExt};
use serde_json::{Map, Value, json};
use sqlx::{Column, ColumnIndex, Database, Either, Row, Statement, Transaction};
use toolkit_core::connector::{CallLimits, InvokeOutput, RowSet};
use toolkit_core::{Error, ErrorKind, Result};

/// The arguments schema: one required `query` string.
pub fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "One SQL statement."}
        },
        "required": ["query"],
        "additionalProperties": false
    })
}

/// The `query` argument, refused when missing, not a string or blank.
pub fn query_argument(arguments: &Map<String, Value>) -> Result<&str> {
    match arguments.get("query") {
        Some(Value::String(q)) if !q.trim().is_empty() => Ok(q),
        Some(Value::String(_)) => Err(Error::invalid_input("read argument `query`: it is empty")),
        Some(other) => {
            Err(Error::invalid_input(format!("read argument `query`: expected a string, got {}", json_type(other))))
        }
        None => Err(Error::invalid_input("read argument `query`: it is required")),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A statement time limit in milliseconds: at least 1 (0 means no limit to the engines) and at
/// most `max`, the largest value the engine's setting takes.
pub fn statement_timeout_ms(timeout: Duration, max: u128) -> u128 {
    timeout.as_millis().clamp(1, max)
}

/// The error of a call (`run_query`, such as "run query on mysql") that ran out of time on the
/// client side.
pub fn timed_out(run_query: &str, limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, run_query)
        .with_context("timeout", format!("{limit:?}"))
        .with_source("the statement did not finish in time")
}

/// Runs `work`, giving up with [`timed_out`] after `limit`.
pub async fn within<T>(limit: Duration, run_query: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| Err(timed_out(run_query, limit)))
}

/// The result of running one statement on a connection.
#[derive(Debug)]
pub struct Outcome {
    /// The output or the classified error.
    pub result: Result<InvokeOutput>,
    /// The connection was left mid-result (rows past the cap are still coming) or in an unknown
    /// state; close it instead of reusing it.
    pub close_connection: bool,
}

/// An empty row set with the columns of a prepared `statement`, or an `InvalidInput` error of
/// `run_query` when the statement has placeholders (written `placeholder`, such as "`?`"): values
/// belong in the query text, a call passes none.
pub fn row_set<'q, S: Statement<'q>>(
    statement: &S,
    placeholder: &str,
    run_query: &str,
    limits: &CallLimits,
) -> Result<RowSet> {
    let placeholders = match statement.parameters() {
        Some(Either::Left(types)) => types.len(),
        Some(Either::Right(n)) => n,
        None => 0,
    };
    if placeholders > 0 {
        return Err(Error::invalid_input(run_query).with_context(
            "hint",
            format!("the statement has {placeholders} {placeholder} placeholder(s); write the values into the query"),
        ));
    }
    Ok(RowSet::new(statement.columns().iter().map(|c| c.name()), limits))
}

/// Reads the results of one statement into `set`, up to its caps, and the rows it affected.
/// With `read_to_end`, rows past the caps are read and dropped so that the statement completes;
/// without, reading stops at the cap. Values go through `to_json`, errors through `fail`.
pub async fn collect_rows<R, Q>(
    mut stream: impl Stream<Item = Result<Either<Q, R>, sqlx::Error>> + Unpin,
    mut set: RowSet,
    read_to_end: bool,
    rows_affected: impl Fn(&Q) -> u64,
    to_json: impl Fn(<R::Database as Database>::ValueRef<'_>) -> Value,
    fail: impl Fn(sqlx::Error) -> Error,
) -> Result<(RowSet, Option<u64>)>
where
    R: Row,
    usize: ColumnIndex<R>,
{
    let mut affected = None;
    loop {
        let item = match stream.try_next().await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) if set.is_truncated() => {
                return Err(fail(e).with_context(
                    "hint",
                    "the result had more rows than maxRows and was read to the end so that the statement could \
                     commit; add a LIMIT",
                ));
            }
            Err(e) => return Err(fail(e)),
        };
        match item {
            Either::Left(done) => affected = Some(rows_affected(&done)),
            // Past the cap: nothing to convert.
            Either::Right(_) if set.is_truncated() => {}
            Either::Right(row) => {
                if set.is_full() {
                    // One row past the cap: `push` only records that the set is truncated.
                    set.push(Vec::new());
                } else {
                    let values = (0..row.len()).map(|i| row.try_get_raw(i).map_or(Value::Null, &to_json)).collect();
                    set.push(values);
                }
                if set.is_truncated() && !read_to_end {
                    break;
                }
            }
        }
    }
    Ok((set, affected))
}

/// Ends the transaction of a call whose statement gave `fetched`: a read-only tool rolls back, a
/// writable one commits what succeeded. A read-only result cut at the cap still has rows coming,
/// so the transaction is dropped (which queues a rollback) and the connection must be closed.
pub async fn finish<DB: Database>(
    tx: Transaction<'_, DB>,
    fetched: Result<(RowSet, Option<u64>)>,
    read_only: bool,
    fail: impl Fn(sqlx::Error) -> Error,
) -> Outcome {
    let outcome = match fetched {
        Ok((set, affected)) if set.is_truncated() && read_only => {
            drop(tx);
            return Outcome { result: Ok(set.into_output(affected)), close_connection: true };
        }
        other => other,
    };
    let end = if read_only || outcome.is_err() { tx.rollback().await } else { tx.commit().await };
    match (outcome, end) {
        (Ok((set, affected)), Ok(())) => Outcome { result: Ok(set.into_output(affected)), close_connection: false },
        (Ok(_), Err(e)) => Outcome { result: Err(fail(e)), close_connection: true },
        (Err(e), end) => Outcome { result: Err(e), close_connection: end.is_err() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_argument_is_checked() {
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(query_argument(&args(json!({"query": "select 1"}))).ok(), Some("select 1"));
        assert_eq!(query_argument(&args(json!({}))).map_err(|e| e.kind()).err(), Some(ErrorKind::InvalidInput));
        let e = query_argument(&args(json!({"query": 1}))).expect_err("not a string");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("expected a string, got a number"), "{e}");
        assert_eq!(
            query_argument(&args(json!({"query": "  "}))).map_err(|e| e.kind()).err(),
            Some(ErrorKind::InvalidInput)
        );
    }

    #[test]
    fn statement_timeout_is_clamped() {
        assert_eq!(statement_timeout_ms(Duration::ZERO, i32::MAX as u128), 1);
        assert_eq!(statement_timeout_ms(Duration::from_millis(1500), i32::MAX as u128), 1500);
        assert_eq!(statement_timeout_ms(Duration::from_secs(u64::MAX), i32::MAX as u128), i32::MAX as u128);
        assert_eq!(statement_timeout_ms(Duration::from_secs(u64::MAX), u32::MAX as u128), u32::MAX as u128);
    }

    #[test]
    fn a_late_call_times_out() {
        let e = timed_out("run query on mysql", Duration::from_secs(2));
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(e.context_value("timeout"), Some("2s"));
    }
}
