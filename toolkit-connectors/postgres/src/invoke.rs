//! One SQL statement per call: `{query}` in, `{columns, rows, rowCount, truncated}` out.
//!
//! Every statement runs in its own transaction with `SET LOCAL statement_timeout`, so the server
//! stops it when the call's time is up. A read-only tool opens that transaction `READ ONLY` and
//! rolls it back: the engine itself refuses writes; a result past the row cap is abandoned by
//! closing the connection. A writable tool commits, so it reads a long result to its end (a write
//! such as `INSERT ... RETURNING` is never undone because its output was capped). Statements go through the extended protocol,
//! which takes exactly one statement, so `COMMIT; INSERT ...` cannot leave the transaction.
//! Statements that cannot run in a transaction block (`VACUUM`, `CREATE DATABASE`) are refused by
//! the server for the same reason.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgQueryResult};
use sqlx::{Connection, Executor, Statement};
use toolkit_connector_sql::invoke::{collect_rows, finish, row_set};
use toolkit_connector_sql::{Credentials, Outcome, Phase, ServerConfig, SqlEngine};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker, RowSet};
use toolkit_core::{Error, Result};

use crate::PostgresTool;
use crate::connect::{self, classify};
use crate::value::to_json;

/// What a call does, in messages.
pub(crate) const RUN_QUERY: &str = "run query on postgres";

/// Runs `sql` on `conn` in a transaction of its own (read-only when `read_only`).
pub(crate) async fn run(conn: &mut PgConnection, sql: &str, read_only: bool, limits: &CallLimits) -> Outcome {
    let mut outcome = run_in_transaction(conn, sql, read_only, limits).await;
    // The driver keeps prepared statements per connection; one kept past a schema change fails
    // with "cached plan must not change result type", so none is kept.
    if !outcome.close_connection && conn.clear_cached_statements().await.is_err() {
        outcome.close_connection = true;
    }
    outcome
}

async fn run_in_transaction(conn: &mut PgConnection, sql: &str, read_only: bool, limits: &CallLimits) -> Outcome {
    let fail = |e| classify(e, Phase::Query, RUN_QUERY);
    let begin = if read_only { conn.begin_with("BEGIN READ ONLY").await } else { conn.begin().await };
    let mut tx = match begin {
        Ok(tx) => tx,
        Err(e) => return Outcome { result: Err(fail(e)), close_connection: true },
    };
    let timeout = format!("SET LOCAL statement_timeout = {}", statement_timeout_ms(limits.timeout));
    if let Err(e) = (&mut *tx).execute(timeout.as_str()).await {
        return Outcome { result: Err(fail(e)), close_connection: true };
    }
    // A write must run to its end to be committed, so a writable tool reads past the cap (and
    // throws those rows away); a read-only one can stop at the cap.
    let fetched = fetch(&mut tx, sql, limits, !read_only).await;
    finish(tx, fetched, read_only, fail).await
}

/// The statement's rows, up to the caps, and the rows it affected. With `read_to_end`, rows
/// past the caps are read and dropped so that the statement completes.
async fn fetch(
    conn: &mut PgConnection,
    sql: &str,
    limits: &CallLimits,
    read_to_end: bool,
) -> Result<(RowSet, Option<u64>)> {
    let fail = |e| classify(e, Phase::Query, RUN_QUERY);
    // Preparing first gives the columns even when no row comes back.
    let statement = (&mut *conn).prepare(sql).await.map_err(fail)?;
    let set = row_set(&statement, "`$n`", RUN_QUERY, limits)?;
    let stream = (&mut *conn).fetch_many(statement.query());
    collect_rows(stream, set, read_to_end, PgQueryResult::rows_affected, to_json, fail).await
}

/// `statement_timeout` in milliseconds, at most what the setting takes.
fn statement_timeout_ms(timeout: Duration) -> u128 {
    toolkit_connector_sql::invoke::statement_timeout_ms(timeout, i32::MAX as u128)
}

/// The engines speaking the postgres protocol, for the shared tool and session.
#[derive(Debug)]
pub(crate) struct Postgres;

impl SqlEngine for Postgres {
    type Database = sqlx::Postgres;

    const RUN_QUERY: &'static str = RUN_QUERY;

    fn connect_options(config: &ServerConfig, creds: &Credentials) -> PgConnectOptions {
        connect::connect_options(config, creds)
    }

    fn run<'a>(
        conn: &'a mut PgConnection,
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
impl Invoker for PostgresTool {
    /// The server's statement_timeout normally fires first; the call's deadline also bounds
    /// connecting.
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
        assert_eq!(statement_timeout_ms(Duration::from_secs(u64::MAX)), i32::MAX as u128);
    }
}
