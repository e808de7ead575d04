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

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlQueryResult};
use sqlx::{Connection, Executor, Statement};
use toolkit_connector_sql::invoke::{collect_rows, finish, row_set};
use toolkit_connector_sql::{Credentials, Outcome, Phase, ServerConfig, SqlEngine};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, Result};

use crate::MysqlTool;
use crate::connect::{self, classify};
use crate::value::to_json;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on mysql";

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
    finish(tx, fetched, read_only, fail).await
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
    let set = row_set(&statement, "`?`", RUN_QUERY, limits)?;
    let stream = (&mut *conn).fetch_many(statement.query());
    collect_rows(stream, set, read_to_end, MySqlQueryResult::rows_affected, to_json, fail).await
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

/// The time limit in milliseconds, at most what both settings take.
fn statement_timeout_ms(timeout: Duration) -> u128 {
    toolkit_connector_sql::invoke::statement_timeout_ms(timeout, u32::MAX as u128)
}

/// MySQL and MariaDB for the shared tool and session.
#[derive(Debug)]
pub(crate) struct Mysql;

impl SqlEngine for Mysql {
    type Database = MySql;

    const RUN_QUERY: &'static str = RUN_QUERY;

    fn connect_options(config: &ServerConfig, creds: &Credentials) -> MySqlConnectOptions {
        connect::connect_options(config, creds)
    }

    fn run<'a>(
        conn: &'a mut MySqlConnection,
        sql: &'a str,
        read_only: bool,
        limits: &'a CallLimits,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        run(conn, sql, read_only, limits)
    }

    fn classify(err: sqlx::Error, phase: Phase, what: String) -> Error {
        classify(err, phase, what)
    }
}

#[async_trait]
impl Invoker for MysqlTool {
    /// The server's time limit normally fires first; the call's deadline also bounds connecting
    /// and statements MySQL does not limit.
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        self.server.invoke(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeout_is_clamped() {
        assert_eq!(statement_timeout_ms(Duration::ZERO), 1);
        assert_eq!(statement_timeout_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(statement_timeout_ms(Duration::from_secs(u64::MAX)), u32::MAX as u128);
    }
}
