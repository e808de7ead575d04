//! SQL classification and the read-only check.
//!
//! Statements are parsed with `sqlparser` in the engine's dialect and every node is visited:
//! nested statements (data-modifying CTEs), `SELECT ... INTO`, row locks, and function calls
//! are found wherever they are. A statement may call only functions on the engine's list of
//! functions free of side effects (`functions.rs`, data per engine); a function that runs SQL
//! given as text (`ts_stat`, `query_to_xml`, `dblink`) or an administration function
//! (`pg_terminate_backend`, `brin_summarize_new_values`, advisory locks, `lo_*`, `GET_LOCK`,
//! `SLEEP`, `LOAD_FILE`) is refused by name, and any other function (a user's, or one the lists
//! do not know) makes the statement `unknown`. Only a single statement that reads passes
//! [`check_read_only`]. It is one layer of two: the engine also runs the
//! statements of a read-only tool in a read-only transaction or session, so a parser miss still
//! cannot write.

use std::ops::ControlFlow;

use serde::Serialize;
use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Visit, Visitor,
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

mod functions;

impl SqlDialect {
    /// The engine's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            SqlDialect::Postgres => "PostgreSQL",
            SqlDialect::MySql => "MySQL",
            SqlDialect::Sqlite => "SQLite",
            SqlDialect::MsSql => "SQL Server",
            SqlDialect::ClickHouse => "ClickHouse",
            SqlDialect::Snowflake => "Snowflake",
            SqlDialect::BigQuery => "BigQuery",
            SqlDialect::Redshift => "Redshift",
            SqlDialect::Oracle => "Oracle",
            SqlDialect::Generic => "SQL",
        }
    }

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

/// The functions a read-only statement may call in `dialect` (lowercase): the common list and
/// the engine's own, as data.
pub fn allowed_functions(dialect: SqlDialect) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = functions::COMMON.iter().chain(functions::dialect_list(dialect)).copied().collect();
    v.sort_unstable();
    v.dedup();
    v.retain(|f| functions::call(dialect, f) == functions::Call::Pure);
    v
}

/// Functions that run SQL given to them as text: a statement that calls one is not read-only.
pub fn sql_text_functions() -> &'static [&'static str] {
    functions::RUNS_SQL
}

/// Administration functions (globs), refused by name, with what they do.
pub fn admin_functions() -> &'static [(&'static str, &'static str)] {
    functions::ADMIN
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
        let mut v = Classifier { dialect, findings: Vec::new(), depth: 0 };
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

/// Tables that hold password hashes or credentials: reading them is sensitive.
const SECRET_TABLES: &[&str] = &[
    "pg_authid",
    "pg_shadow",
    "pg_user_mapping",
    "pg_user_mappings",
    "user_mapping_options",
    "mysql.user",
    "mysql.global_priv",
    "mysql.db",
    "mysql.servers",
    "sys.sql_logins",
    "sys.credentials",
    "sys.user$",
    "dba_users",
    "sqlite_master_secrets",
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

struct Classifier {
    dialect: SqlDialect,
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
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i.value.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        if parts.len() != name.0.len() || parts.is_empty() {
            self.push(Finding::unknown("sql.computed-name", "a function whose name is computed"));
            return;
        }
        let lower = parts[parts.len() - 1].clone();
        let schema = (parts.len() > 1).then(|| parts[..parts.len() - 1].join("."));
        let engine = self.dialect.name();
        match functions::call(self.dialect, &lower) {
            functions::Call::Admin(why) => {
                self.push(Finding::write(
                    "sql.function.admin",
                    format!("`{lower}()` is an administration function: it {why}"),
                ));
                return;
            }
            functions::Call::RunsSql => {
                self.push(Finding::write(
                    "sql.function.runs-sql",
                    format!("`{lower}()` runs SQL given to it as text, which is not checked"),
                ));
                return;
            }
            functions::Call::Pure | functions::Call::Unknown => {}
        }
        if let Some(schema) = &schema
            && !functions::system_schema(self.dialect, schema)
        {
            self.push(Finding::unknown(
                "sql.function.unknown",
                format!("`{schema}.{lower}()` is a function of the schema {schema}, not one known to be free of side effects"),
            ));
            return;
        }
        if functions::call(self.dialect, &lower) == functions::Call::Unknown {
            self.push(Finding::unknown(
                "sql.function.unknown",
                format!("`{lower}()` is not a function known to be free of side effects in {engine}"),
            ));
        }
    }

    fn table(&mut self, name: &ObjectName) {
        let full = name.to_string().to_ascii_lowercase().replace(['"', '`', '[', ']'], "");
        let last = full.rsplit('.').next().unwrap_or_default().to_owned();
        if SECRET_TABLES.iter().any(|t| *t == full || *t == last || full.ends_with(&format!(".{t}"))) {
            self.push(Finding::sensitive("sql.secret-table", format!("`{full}` holds password hashes or credentials")));
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
            TableFactor::Table { name, args: None, .. } => self.table(name),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Function(f) => self.function(&f.name),
            Expr::BinaryOp { op: BinaryOperator::Assignment, .. } => {
                self.push(Finding::write("sql.session", "`:=` assigns a session variable"));
            }
            _ => {}
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
