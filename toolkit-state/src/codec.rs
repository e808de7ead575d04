//! How records are kept as column values, the same for every backend: times as RFC 3339 text,
//! JSON as text, enums as their lowercase names. Each record type reads a row through
//! [`Columns`], so a record reads back identically whichever database holds it.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

/// The current time as stored (`2025-01-02T03:04:05.123456Z`).
pub(crate) fn now() -> String {
    time_text(Utc::now())
}

/// A time as stored: RFC 3339 in UTC with microseconds, so that text order is time order.
pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored time; the epoch when it does not parse.
pub(crate) fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// The columns of a row, by position, in the few types the state uses.
///
/// # Panics
/// Like [`Row::get`], when a column is missing or of another type: the queries and the schema
/// are written together.
pub(crate) trait Columns {
    /// A text column.
    fn text(&self, i: usize) -> String;
    /// A nullable text column.
    fn text_opt(&self, i: usize) -> Option<String>;
    /// An integer column.
    fn int(&self, i: usize) -> i64;
    /// A nullable integer column.
    fn int_opt(&self, i: usize) -> Option<i64>;
    /// A floating-point column.
    fn real(&self, i: usize) -> f64;
    /// A boolean column.
    fn flag(&self, i: usize) -> bool;
}

impl<R> Columns for R
where
    R: Row,
    usize: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    f64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    bool: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, i: usize) -> String {
        self.get(i)
    }

    fn text_opt(&self, i: usize) -> Option<String> {
        self.get(i)
    }

    fn int(&self, i: usize) -> i64 {
        self.get(i)
    }

    fn int_opt(&self, i: usize) -> Option<i64> {
        self.get(i)
    }

    fn real(&self, i: usize) -> f64 {
        self.get(i)
    }

    fn flag(&self, i: usize) -> bool {
        self.get(i)
    }
}
