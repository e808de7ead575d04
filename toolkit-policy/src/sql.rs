//! SQL classification and the read-only check.
//!
//! Statements are parsed with `sqlparser` in the engine's dialect and every node is visited:
//! nested statements (data-modifying CTEs), `SELECT ... INTO`, row locks, and calls of
//! functions with side effects (`nextval`, `set_config`, `pg_terminate_backend`, `lo_import`,
//! `dblink_exec`, `load_file`, ...) are found wherever they are. Only a single statement
//! that reads passes [`check_read_only`]. It is one layer of two: the engine also runs the
//! statements of a read-only tool in a read-only transaction or session, so a parser miss still
//! cannot write.

use std::ops::ControlFlow;

use serde::Serialize;
use sqlparser::ast::{
    Expr, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, Dialect, GenericDialect, MsSqlDialect, MySqlDialect, OracleDialect,
    PostgreSqlDialect, RedshiftSqlDialect, SQLiteDialect, SnowflakeDialect,
};
use sqlparser::parser::Parser;

use crate::verdict::{Class, Finding, Reason, Verdict};

/// Statements longer than this are not parsed.
const MAX_SQL_BYTES: usize = 256 * 1024;

/// The SQL dialect of an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlDialect {
    /// PostgreSQL and its wire-compatible engines.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
    /// SQLite.
    Sqlite,
    /// Microsoft SQL Server.
    MsSql,
    /// ClickHouse.
    ClickHouse,
    /// Snowflake.
    Snowflake,
    /// BigQuery.
    BigQuery,
    /// Amazon Redshift.
    Redshift,
    /// Oracle.
    Oracle,
    /// Anything else.
    Generic,
}

impl SqlDialect {
    fn parser_dialect(self) -> Box<dyn Dialect> {
        match self {
            SqlDialect::Postgres => Box::new(PostgreSqlDialect {}),
            SqlDialect::MySql => Box::new(MySqlDialect {}),
            SqlDialect::Sqlite => Box::new(SQLiteDialect {}),
            SqlDialect::MsSql => Box::new(MsSqlDialect {}),
            SqlDialect::ClickHouse => Box::new(ClickHouseDialect {}),
            SqlDialect::Snowflake => Box::new(SnowflakeDialect {}),
            SqlDialect::BigQuery => Box::new(BigQueryDialect {}),
            SqlDialect::Redshift => Box::new(RedshiftSqlDialect {}),
            SqlDialect::Oracle => Box::new(OracleDialect {}),
            SqlDialect::Generic => Box::new(GenericDialect {}),
        }
    }
}

/// Whether SQL text may run on a read-only tool, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SqlVerdict {
    /// Exactly one statement, and it only reads.
    pub read_only: bool,
    /// Why it was refused (empty when it passes).
    pub reasons: Vec<String>,
}

/// Checks that `sql` is exactly one statement that only reads.
pub fn check_read_only(dialect: SqlDialect, sql: &str) -> SqlVerdict {
    let verdict = classify(dialect, sql);
    let read_only = verdict.class == Class::Read;
    let reasons = if read_only {
        Vec::new()
    } else {
        verdict.reasons.iter().filter(|r| r.class > Class::Read).map(|r| r.message.clone()).collect()
    };
    SqlVerdict { read_only, reasons }
}

/// Classifies SQL text: `read` for one statement that only reads; `write` for changes to data,
/// schema, session or transaction; `dangerous` for `DROP`, `TRUNCATE` and `DELETE`/`UPDATE`
/// without `WHERE`; `unknown` for text that does not parse, is empty, or holds several
/// statements.
pub fn classify(dialect: SqlDialect, sql: &str) -> Verdict {
    let part = crate::shell::short(sql);
    if sql.len() > MAX_SQL_BYTES {
        return Verdict::from_reasons(vec![
            Finding::unknown("sql.too-long", format!("longer than {MAX_SQL_BYTES} bytes")).at(&part),
        ]);
    }
    let statements = match Parser::parse_sql(dialect.parser_dialect().as_ref(), sql) {
        Ok(s) => s,
        Err(e) => {
            return Verdict::from_reasons(vec![
                Finding::unknown(
                    "sql.parse-error",
                    format!("the statement could not be parsed, so it is not known to be a read: {e}"),
                )
                .at(&part),
            ]);
        }
    };
    let mut reasons: Vec<Reason> = Vec::new();
    match statements.len() {
        0 => reasons.push(Finding::unknown("sql.empty", "no statement").at(&part)),
        1 => {}
        n => reasons.push(
            Finding::unknown(
                "sql.multiple-statements",
                format!("{n} statements in one call; a read-only tool runs exactly one"),
            )
            .at(&part),
        ),
    }
    for stmt in &statements {
        let text = crate::shell::short(&stmt.to_string());
        let mut v = Classifier::default();
        let _ = stmt.visit(&mut v);
        if v.findings.is_empty() {
            v.findings.push(Finding::read("sql.read", "only reads"));
        }
        for f in v.findings {
            let r = f.at(&text);
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
    }
    Verdict::from_reasons(reasons)
}

/// Functions with effects beyond reading, lowercase, without schema.
const SIDE_EFFECT_FUNCTIONS: &[&str] = &[
    // PostgreSQL: sequences, sessions, server control, large objects, replication, dblink.
    "nextval",
    "setval",
    "set_config",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_switch_xlog",
    "pg_create_restore_point",
    "pg_start_backup",
    "pg_stop_backup",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_promote",
    "pg_wal_replay_pause",
    "pg_wal_replay_resume",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_advisory_unlock",
    "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all",
    "pg_notify",
    "lo_import",
    "lo_export",
    "lo_unlink",
    "lo_create",
    "lo_creat",
    "lo_from_bytea",
    "lo_put",
    "lo_truncate",
    "lowrite",
    "lo_open",
    "pg_create_logical_replication_slot",
    "pg_create_physical_replication_slot",
    "pg_drop_replication_slot",
    "pg_copy_logical_replication_slot",
    "pg_copy_physical_replication_slot",
    "pg_replication_origin_create",
    "pg_replication_origin_drop",
    "pg_replication_origin_advance",
    "pg_replication_slot_advance",
    "pg_logical_emit_message",
    "pg_import_system_collations",
    "pg_stat_reset",
    "pg_stat_reset_shared",
    "pg_stat_reset_single_table_counters",
    "pg_stat_statements_reset",
    "pg_log_backend_memory_contexts",
    "txid_current",
    "pg_current_xact_id",
    "dblink",
    "dblink_exec",
    "dblink_connect",
    "dblink_connect_u",
    "dblink_send_query",
    "dblink_open",
    "dblink_fetch",
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "query_to_xmlschema",
    "cursor_to_xml",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_file_sync",
    // MySQL.
    "get_lock",
    "release_lock",
    "release_all_locks",
    "master_pos_wait",
    "source_pos_wait",
    "sys_exec",
    "sys_eval",
    // SQLite.
    "load_extension",
    "writefile",
    "edit",
    "fts3_tokenizer",
];

/// Functions that reach files on the database server.
const FILE_FUNCTIONS: &[&str] = &[
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_ls_logdir",
    "pg_ls_waldir",
    "pg_ls_tmpdir",
    "pg_ls_archive_statusdir",
    "load_file",
    "readfile",
];

/// Read-only SQLite pragmas.
const READ_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
    "compile_options",
    "collation_list",
    "function_list",
    "module_list",
    "pragma_list",
    "integrity_check",
    "quick_check",
    "foreign_key_check",
];

#[derive(Default)]
struct Classifier {
    findings: Vec<Finding>,
    depth: usize,
}

impl Classifier {
    fn push(&mut self, f: Finding) {
        if !self.findings.contains(&f) {
            self.findings.push(f);
        }
    }

    fn function(&mut self, name: &ObjectName) {
        let Some(last) = name.0.last() else { return };
        let ObjectNamePart::Identifier(ident) = last else {
            self.push(Finding::unknown("sql.computed-name", "a name computed by a function"));
            return;
        };
        let lower = ident.value.to_ascii_lowercase();
        if SIDE_EFFECT_FUNCTIONS.contains(&lower.as_str()) {
            self.push(Finding::write("sql.function-side-effect", format!("`{lower}()` has effects beyond reading")));
        } else if FILE_FUNCTIONS.contains(&lower.as_str()) {
            self.push(Finding::unknown("sql.server-file", format!("`{lower}()` reaches files on the database server")));
        }
    }

    fn statement(&mut self, stmt: &Statement, nested: bool) {
        let keyword = leading_keywords(stmt);
        let dml = |this: &mut Self, what: &str| {
            if nested {
                this.push(Finding::write("sql.nested-dml", format!("a data-modifying `{what}` inside a query")));
            } else {
                this.push(Finding::write("sql.dml", format!("`{what}` changes data")));
            }
        };
        match stmt {
            Statement::Query(_)
            | Statement::ShowFunctions { .. }
            | Statement::ShowVariable { .. }
            | Statement::ShowStatus { .. }
            | Statement::ShowVariables { .. }
            | Statement::ShowCreate { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowCatalogs { .. }
            | Statement::ShowDatabases { .. }
            | Statement::ShowProcessList { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowCharset(_)
            | Statement::ShowObjects(_)
            | Statement::ShowTables { .. }
            | Statement::ShowViews { .. }
            | Statement::ShowCollation { .. }
            | Statement::ExplainTable { .. } => {}
            Statement::Explain { analyze, .. } => {
                if *analyze {
                    self.push(Finding::write("sql.explain-analyze", "EXPLAIN ANALYZE runs the statement"));
                }
            }
            Statement::Insert(_) => dml(self, "INSERT"),
            Statement::Merge(_) => dml(self, "MERGE"),
            Statement::Update(u) => {
                dml(self, "UPDATE");
                if u.selection.is_none() {
                    self.push(Finding::dangerous("sql.unbounded-dml", "UPDATE without WHERE changes every row"));
                }
            }
            Statement::Delete(d) => {
                dml(self, "DELETE");
                if d.selection.is_none() && d.using.is_none() {
                    self.push(Finding::dangerous("sql.unbounded-dml", "DELETE without WHERE removes every row"));
                }
            }
            Statement::Truncate(_) => self.push(Finding::dangerous("sql.truncate", "TRUNCATE removes every row")),
            Statement::Drop { object_type, .. } => {
                self.push(Finding::dangerous("sql.drop", format!("DROP {object_type} removes it and its data")));
            }
            Statement::Copy { .. }
            | Statement::CopyIntoSnowflake { .. }
            | Statement::Unload { .. }
            | Statement::LoadData { .. }
            | Statement::Load { .. }
            | Statement::ExportData(_)
            | Statement::Put { .. }
            | Statement::Remove(_)
            | Statement::Directory { .. } => {
                self.push(Finding::write("sql.copy", format!("`{keyword}` moves data to or from files")));
            }
            Statement::Call(_) | Statement::Execute { .. } => {
                self.push(Finding::write("sql.call", format!("`{keyword}` runs a procedure or prepared statement")));
            }
            Statement::Set(_)
            | Statement::Reset(_)
            | Statement::Discard { .. }
            | Statement::Use(_)
            | Statement::Prepare { .. }
            | Statement::Deallocate { .. }
            | Statement::Declare { .. }
            | Statement::Fetch { .. }
            | Statement::Close { .. }
            | Statement::Open(_)
            | Statement::AlterSession { .. } => {
                self.push(Finding::write("sql.session", format!("`{keyword}` changes the session")));
            }
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. } => {
                self.push(Finding::write("sql.transaction", format!("`{keyword}` controls the transaction")));
            }
            Statement::Lock(_) | Statement::LockTables { .. } | Statement::UnlockTables => {
                self.push(Finding::write("sql.lock", format!("`{keyword}` takes or releases locks")));
            }
            Statement::LISTEN { .. } | Statement::UNLISTEN { .. } | Statement::NOTIFY { .. } => {
                self.push(Finding::write("sql.notify", format!("`{keyword}` changes notifications")));
            }
            Statement::Pragma { name, is_eq, .. } => {
                let last = name.0.last().map(|p| p.to_string().to_ascii_lowercase()).unwrap_or_default();
                if *is_eq || !READ_PRAGMAS.contains(&last.as_str()) {
                    self.push(Finding::write("sql.pragma", format!("`PRAGMA {last}` may change the database")));
                }
            }
            Statement::Grant(_) | Statement::Revoke(_) | Statement::Deny(_) => {
                self.push(Finding::write("sql.privileges", format!("`{keyword}` changes privileges")));
            }
            Statement::Kill { .. } => self.push(Finding::write("sql.kill", "KILL ends a connection or query")),
            _ => self.push(Finding::write("sql.ddl", format!("`{keyword}` is not a read"))),
        }
    }
}

impl Visitor for Classifier {
    type Break = ();

    fn pre_visit_statement(&mut self, stmt: &Statement) -> ControlFlow<()> {
        let nested = self.depth > 0;
        self.depth += 1;
        self.statement(stmt, nested);
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, _stmt: &Statement) -> ControlFlow<()> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if !q.locks.is_empty() {
            self.push(Finding::write("sql.row-lock", "row locks (FOR UPDATE/SHARE) are not reads"));
        }
        if let SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) = q.body.as_ref() {
            self.push(Finding::write("sql.nested-dml", "a data-modifying statement inside a query"));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        if s.into.is_some() {
            self.push(Finding::write("sql.select-into", "SELECT ... INTO writes a table, variable or file"));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        match t {
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => self.function(name),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            self.function(&f.name);
        }
        ControlFlow::Continue(())
    }
}

/// The first words of a statement as SQL (`CREATE TABLE`, `SET ROLE`), for messages.
fn leading_keywords(stmt: &Statement) -> String {
    let text = stmt.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let second_is_keyword = words.get(1).is_some_and(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
    if second_is_keyword { words.join(" ") } else { words.first().copied().unwrap_or_default().to_owned() }
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
            "select count(*) from pg_class join pg_namespace n on true",
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
            "SELECT 1; SELECT 2",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT * INTO t2 FROM t",
            "SELECT * FROM t FOR UPDATE",
            "COPY t FROM '/etc/passwd'",
            "COPY t TO STDOUT",
            "SET ROLE postgres",
            "SET search_path = evil",
            "BEGIN",
            "COMMIT",
            "CREATE TABLE x (a int)",
            "EXPLAIN ANALYZE DELETE FROM t",
            "CALL p()",
            "DO $$ BEGIN END $$",
            "not sql at all",
            "",
            "select nextval('s')",
            "select * from dblink('x', 'delete from t') as t(a int)",
            "select set_config('role', 'postgres', false)",
            "select pg_read_file('/etc/passwd')",
            "select (select lo_import('/etc/passwd'))",
        ] {
            let v = check_read_only(SqlDialect::Postgres, sql);
            assert!(!v.read_only, "{sql} passed");
            assert!(!v.reasons.is_empty(), "{sql}: a reason");
        }
    }

    #[test]
    fn classes() {
        let c = |sql| classify(SqlDialect::Postgres, sql).class;
        assert_eq!(c("DROP TABLE t"), Class::Dangerous);
        assert_eq!(c("DELETE FROM t"), Class::Dangerous);
        assert_eq!(c("DELETE FROM t WHERE id = 1"), Class::Write);
        assert_eq!(c("UPDATE t SET a = 1 WHERE id = 2"), Class::Write);
        assert_eq!(c("TRUNCATE t"), Class::Dangerous);
        assert_eq!(c("selec 1"), Class::Unknown);
        assert_eq!(c("SELECT 1"), Class::Read);
    }

    #[test]
    fn dialects() {
        assert!(!check_read_only(SqlDialect::MySql, "SELECT * FROM t INTO OUTFILE '/tmp/x'").read_only);
        assert!(check_read_only(SqlDialect::MySql, "SELECT `a` FROM t").read_only);
        assert!(check_read_only(SqlDialect::Sqlite, "PRAGMA table_info('t')").read_only);
        assert!(!check_read_only(SqlDialect::Sqlite, "PRAGMA journal_mode = DELETE").read_only);
        assert!(check_read_only(SqlDialect::MsSql, "SELECT TOP 5 * FROM t").read_only);
    }
}
