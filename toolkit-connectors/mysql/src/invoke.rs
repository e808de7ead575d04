//! One SQL statement per call: `{query}` in, `{columns, rows, rowCount, truncated}` out.
//!
//! Before each statement the connection's session is set to the tool's access mode (`SET SESSION
//! TRANSACTION READ ONLY` or `READ WRITE`) and to the call's time limit (`max_statement_time` on
//! MariaDB, `max_execution_time` on MySQL, which applies to `SELECT` only; the client-side deadline
//! covers the rest). The statement runs in a transaction of its own: `START TRANSACTION READ ONLY`
//! and a rollback for a read-only tool. The session-wide mode matters because DDL commits the open
//! transaction implicitly; the next, implicit one is still read-only, so the engine refuses it
//! (error 1792). Statements go through the prepared-statement protocol, which takes exactly one
//! statement, so `COMMIT; INSERT ...` cannot leave the transaction. A result past the row cap is
//! abandoned by closing the connection for a read-only tool; a writable one reads it to the end.

use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::{Map, Value, json};
use sqlx::mysql::{MySqlConnection, MySqlDatabaseError};
use sqlx::{Column, Connection, Either, Executor, Row, Statement};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, ErrorKind, Result};

use crate::MysqlTool;
use crate::connect::{Phase, classify, with_tool};
use crate::value::to_json;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on mysql";

/// The arguments schema: one required `query` string.
pub(crate) fn input_schema() -> Value {
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
pub(crate) fn query_argument(arguments: &Map<String, Value>) -> Result<&str> {
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

/// The result of running one statement on a connection.
pub(crate) struct Outcome {
    /// The output or the classified error.
    pub(crate) result: Result<InvokeOutput>,
    /// The connection was left mid-result (rows past the cap are still coming) or in an unknown
    /// state; close it instead of reusing it.
    pub(crate) close_connection: bool,
}

/// Runs `sql` on `conn` in a transaction of its own (read-only when `read_only`).
pub(crate) async fn run(conn: &mut MySqlConnection, sql: &str, read_only: bool, limits: &CallLimits) -> Outcome {
    let mut outcome = run_in_transaction(conn, sql, read_only, limits).await;
    // The driver keeps prepared statements per connection; one kept past a schema change fails
    // with "cached plan must not change result type", so none is kept.
    if !outcome.close_connection && conn.clear_cached_statements().await.is_err() {
        outcome.close_connection = true;
    }
    outcome
}

async fn run_in_transaction(conn: &mut MySqlConnection, sql: &str, read_only: bool, limits: &CallLimits) -> Outcome {
    let fail = |e| classify(e, Phase::Query, RUN_QUERY);
    if let Err(e) = prepare_session(conn, read_only, limits.timeout).await {
        return Outcome { result: Err(e), close_connection: true };
    }
    let begin = if read_only { conn.begin_with("START TRANSACTION READ ONLY").await } else { conn.begin().await };
    let mut tx = match begin {
        Ok(tx) => tx,
        Err(e) => return Outcome { result: Err(fail(e)), close_connection: true },
    };
    // A write must run to its end to be committed, so a writable tool reads past the cap (and
    // throws those rows away); a read-only one can stop at the cap.
    let fetched = fetch(&mut tx, sql, limits, !read_only).await;
    let outcome = match fetched {
        // The rest of the rows are still on their way: dropping the transaction queues a
        // rollback, and closing the connection ends the statement on the server.
        Ok(set) if set.0.is_truncated() && read_only => {
            drop(tx);
            return Outcome { result: Ok(set.0.into_output(set.1)), close_connection: true };
        }
        Ok(set) => Ok(set),
        Err(e) => Err(e),
    };
    let end = if read_only || outcome.is_err() { tx.rollback().await } else { tx.commit().await };
    match (outcome, end) {
        (Ok((set, affected)), Ok(())) => Outcome { result: Ok(set.into_output(affected)), close_connection: false },
        (Ok(_), Err(e)) => Outcome { result: Err(fail(e)), close_connection: true },
        (Err(e), end) => Outcome { result: Err(e), close_connection: end.is_err() },
    }
}

/// The statement's rows, up to the caps, and the rows it affected. With `read_to_end`, rows
/// past the caps are read and dropped so that the statement completes.
async fn fetch(
    conn: &mut MySqlConnection,
    sql: &str,
    limits: &CallLimits,
    read_to_end: bool,
) -> Result<(RowSet, Option<u64>)> {
    let fail = |e| classify(e, Phase::Query, RUN_QUERY);
    // Preparing first gives the columns even when no row comes back.
    let statement = (&mut *conn).prepare(sql).await.map_err(fail)?;
    let placeholders = match statement.parameters() {
        Some(Either::Left(types)) => types.len(),
        Some(Either::Right(n)) => n,
        None => 0,
    };
    if placeholders > 0 {
        return Err(Error::invalid_input(RUN_QUERY).with_context(
            "hint",
            format!("the statement has {placeholders} `?` placeholder(s); write the values into the query"),
        ));
    }
    let mut set = RowSet::new(statement.columns().iter().map(|c| c.name()), limits);
    let mut affected = None;
    let mut stream = (&mut *conn).fetch_many(statement.query());
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
            Either::Left(done) => affected = Some(done.rows_affected()),
            // Past the cap: nothing to convert.
            Either::Right(_) if set.is_truncated() => {}
            Either::Right(row) => {
                if set.is_full() {
                    // One row past the cap: `push` only records that the set is truncated.
                    set.push(Vec::new());
                } else {
                    let values = (0..row.len()).map(|i| row.try_get_raw(i).map_or(Value::Null, to_json)).collect();
                    set.push(values);
                }
                if set.is_truncated() && !read_to_end {
                    break;
                }
            }
        }
    }
    drop(stream);
    Ok((set, affected))
}

/// Sets the session's access mode and statement time limit for the next statement.
async fn prepare_session(conn: &mut MySqlConnection, read_only: bool, timeout: Duration) -> Result<()> {
    let fail = |e| classify(e, Phase::Query, RUN_QUERY);
    let mode = if read_only { "SET SESSION TRANSACTION READ ONLY" } else { "SET SESSION TRANSACTION READ WRITE" };
    conn.execute(mode).await.map_err(fail)?;
    let ms = statement_timeout_ms(timeout);
    // MariaDB takes seconds (fractions allowed); MySQL does not know the variable (error 1193)
    // and has its own in milliseconds.
    let mariadb = format!("SET SESSION max_statement_time = {}.{:03}", ms / 1000, ms % 1000);
    match conn.execute(mariadb.as_str()).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db))
            if db.try_downcast_ref::<MySqlDatabaseError>().is_some_and(|e| e.number() == 1193) =>
        {
            let mysql = format!("SET SESSION max_execution_time = {ms}");
            conn.execute(mysql.as_str()).await.map(|_| ()).map_err(fail)
        }
        Err(e) => Err(fail(e)),
    }
}

/// The time limit in milliseconds: at least 1 (0 would mean no limit) and at most what the
/// settings take.
fn statement_timeout_ms(timeout: Duration) -> u128 {
    timeout.as_millis().clamp(1, u32::MAX as u128)
}

/// The error of a call that ran out of time on the client side.
pub(crate) fn timed_out(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, RUN_QUERY)
        .with_context("timeout", format!("{limit:?}"))
        .with_source("the statement did not finish in time")
}

#[async_trait]
impl Invoker for MysqlTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let sql = query_argument(&call.arguments)?;
        let limits = call.limits;
        let work = async {
            let mut conn = self.acquire().await?;
            let outcome = run(&mut conn, sql, self.read_only, &limits).await;
            if outcome.close_connection {
                conn.close_on_drop();
            }
            outcome.result
        };
        // The server's time limit normally fires first; this also bounds connecting and statements
        // MySQL does not limit.
        let result =
            tokio::time::timeout(limits.timeout, work).await.unwrap_or_else(|_| Err(timed_out(limits.timeout)));
        result.map_err(|e| with_tool(e, self.qualified_name()))
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
        assert_eq!(
            query_argument(&args(json!({"query": 1}))).map_err(|e| e.kind()).err(),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(
            query_argument(&args(json!({"query": "  "}))).map_err(|e| e.kind()).err(),
            Some(ErrorKind::InvalidInput)
        );
    }

    #[test]
    fn statement_timeout_is_clamped() {
        assert_eq!(statement_timeout_ms(Duration::ZERO), 1);
        assert_eq!(statement_timeout_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(statement_timeout_ms(Duration::from_secs(u64::MAX)), u32::MAX as u128);
    }
}
