//! One SQL text per call: `{query}` in, `{columns, rows, rowCount, truncated}` out.
//!
//! SQLite has no statement timeout of its own: a progress handler interrupts the statement when
//! the call's time is up. Values are converted by their storage class: INTEGER and REAL are
//! numbers (non-finite REALs the strings `NaN`, `Infinity`, `-Infinity`), TEXT a string, BLOB
//! base64, NULL `null`.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{Number, Value};
use sqlx::sqlite::{SqliteConnection, SqliteQueryResult, SqliteValueRef};
use sqlx::{Decode, Executor, Sqlite, Statement, TypeInfo, ValueRef};
use toolkit_connector_sql::invoke::{collect_rows, query_argument, row_set};
use toolkit_connector_sql::with_tool;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::SqliteTool;
use crate::connect::classify;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on sqlite";

/// SQLite virtual machine steps between two looks at the clock.
const PROGRESS_STEPS: i32 = 1000;

/// Runs `sql` on `conn`, interrupting it when `limits.timeout` has passed.
pub(crate) async fn run(conn: &mut SqliteConnection, sql: &str, limits: &CallLimits) -> Result<InvokeOutput> {
    let fail = |e| classify(e, RUN_QUERY);
    if let Some(deadline) = Instant::now().checked_add(limits.timeout) {
        conn.lock_handle().await.map_err(fail)?.set_progress_handler(PROGRESS_STEPS, move || Instant::now() < deadline);
    }
    let result = fetch(conn, sql, limits).await.map_err(|e| match e.kind() {
        ErrorKind::Timeout if e.context_value("timeout").is_none() => {
            e.with_context("timeout", format!("{:?}", limits.timeout))
        }
        _ => e,
    });
    // A handler left behind would interrupt the next statement on this connection.
    if let Ok(mut handle) = conn.lock_handle().await {
        handle.remove_progress_handler();
    }
    result
}

async fn fetch(conn: &mut SqliteConnection, sql: &str, limits: &CallLimits) -> Result<InvokeOutput> {
    let fail = |e| classify(e, RUN_QUERY);
    // Preparing first gives the columns even when no row comes back.
    let statement = (&mut *conn).prepare(sql).await.map_err(fail)?;
    let set = row_set(&statement, "`?`", RUN_QUERY, limits)?;
    let stream = (&mut *conn).fetch_many(statement.query());
    let (set, affected) = collect_rows(stream, set, false, SqliteQueryResult::rows_affected, to_json, fail).await?;
    Ok(set.into_output(affected))
}

/// The JSON form of one value, by its storage class.
fn to_json(raw: SqliteValueRef<'_>) -> Value {
    if raw.is_null() {
        return Value::Null;
    }
    let class = raw.type_info().name().to_owned();
    let decoded = match class.as_str() {
        "INTEGER" => <i64 as Decode<Sqlite>>::decode(raw).map(Value::from),
        "REAL" => <f64 as Decode<Sqlite>>::decode(raw).map(float),
        "BLOB" => <Vec<u8> as Decode<Sqlite>>::decode(raw)
            .map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b))),
        _ => <String as Decode<Sqlite>>::decode(raw).map(Value::String),
    };
    decoded.unwrap_or_else(|_| Value::String(format!("<undecodable {class} value>")))
}

fn float(v: f64) -> Value {
    match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None if v.is_nan() => Value::String("NaN".into()),
        None if v > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// The error of a call that ran out of time on the client side.
pub(crate) fn timed_out(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, RUN_QUERY).with_context("timeout", format!("{limit:?}"))
}

#[async_trait]
impl Invoker for SqliteTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let sql = query_argument(&call.arguments)?;
        let limits = call.limits;
        let work = async {
            let mut conn = self.acquire().await?;
            run(&mut conn, sql, &limits).await
        };
        let result =
            tokio::time::timeout(limits.timeout, work).await.unwrap_or_else(|_| Err(timed_out(limits.timeout)));
        result.map_err(|e| with_tool(e, self.qualified_name()))
    }
}
