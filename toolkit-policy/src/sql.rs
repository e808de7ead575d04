//! Read-only SQL classification.

use serde::Serialize;
use sqlparser::ast::{Query, SetExpr, Statement};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

/// The SQL dialect of an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlDialect {
    /// PostgreSQL and its wire-compatible engines.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
    /// SQLite.
    Sqlite,
    /// Anything else.
    Generic,
}

impl SqlDialect {
    fn parser_dialect(self) -> Box<dyn Dialect> {
        match self {
            SqlDialect::Postgres => Box::new(PostgreSqlDialect {}),
            SqlDialect::MySql => Box::new(MySqlDialect {}),
            SqlDialect::Sqlite => Box::new(SQLiteDialect {}),
            SqlDialect::Generic => Box::new(GenericDialect {}),
        }
    }
}

/// Whether SQL text may run on a read-only tool, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SqlVerdict {
    /// Only reads.
    pub read_only: bool,
    /// Why it was refused (empty when it passes).
    pub reasons: Vec<String>,
}

/// Checks that `sql` is exactly one statement that only reads.
pub fn check_read_only(dialect: SqlDialect, sql: &str) -> SqlVerdict {
    let mut reasons = Vec::new();
    match Parser::parse_sql(dialect.parser_dialect().as_ref(), sql) {
        Err(e) => reasons.push(format!("the statement could not be parsed, so it is not known to be a read: {e}")),
        Ok(stmts) if stmts.is_empty() => reasons.push("no statement".into()),
        Ok(stmts) if stmts.len() > 1 => {
            reasons.push(format!("{} statements in one call; a read-only tool runs exactly one", stmts.len()))
        }
        Ok(stmts) => statement_reasons(&stmts[0], &mut reasons),
    }
    SqlVerdict { read_only: reasons.is_empty(), reasons }
}

fn statement_reasons(stmt: &Statement, reasons: &mut Vec<String>) {
    match stmt {
        Statement::Query(q) => query_reasons(q, reasons),
        Statement::Explain { analyze, statement, .. } => {
            if *analyze {
                reasons.push("EXPLAIN ANALYZE runs the statement".into());
            }
            statement_reasons(statement, reasons);
        }
        Statement::ShowVariable { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowCollation { .. } => {}
        other => {
            let text = other.to_string();
            let word = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            reasons.push(format!("`{word}` is not a read"));
        }
    }
}

fn query_reasons(q: &Query, reasons: &mut Vec<String>) {
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            query_reasons(&cte.query, reasons);
        }
    }
    if !q.locks.is_empty() {
        reasons.push("row locks (FOR UPDATE/SHARE) are not reads".into());
    }
    set_expr_reasons(&q.body, reasons);
}

fn set_expr_reasons(body: &SetExpr, reasons: &mut Vec<String>) {
    match body {
        SetExpr::Select(s) => {
            if s.into.is_some() {
                reasons.push("SELECT ... INTO writes a table".into());
            }
        }
        SetExpr::Query(q) => query_reasons(q, reasons),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr_reasons(left, reasons);
            set_expr_reasons(right, reasons);
        }
        SetExpr::Values(_) | SetExpr::Table(_) => {}
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
            reasons.push("data-modifying statement inside a query".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass() {
        for sql in [
            "SELECT 1",
            "select * from t where a = 'x; drop table t'",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SELECT 1 UNION SELECT 2",
            "EXPLAIN SELECT 1",
            "SHOW search_path",
        ] {
            let v = check_read_only(SqlDialect::Postgres, sql);
            assert!(v.read_only, "{sql}: {:?}", v.reasons);
        }
    }

    #[test]
    fn writes_fail() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "SELECT 1; DELETE FROM t",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT * INTO t2 FROM t",
            "SELECT * FROM t FOR UPDATE",
            "COPY t FROM '/etc/passwd'",
            "SET ROLE postgres",
            "BEGIN",
            "CREATE TABLE x (a int)",
            "EXPLAIN ANALYZE DELETE FROM t",
            "CALL p()",
            "DO $$ BEGIN END $$",
            "not sql at all",
        ] {
            let v = check_read_only(SqlDialect::Postgres, sql);
            assert!(!v.read_only, "{sql} passed");
        }
    }
}
