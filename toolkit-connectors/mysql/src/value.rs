//! MySQL and MariaDB values as JSON.
//!
//! Signed and unsigned integers become numbers (`BOOLEAN` is `TINYINT(1)` and reads as a number
//! too), `FLOAT`/`DOUBLE` numbers (non-finite the strings `NaN`, `Infinity`, `-Infinity`),
//! `DECIMAL` a string so no digit is lost; text types, `ENUM` and `SET` strings; binary types
//! text when they hold printable UTF-8 (see [`binary`]), else base64, and `GEOMETRY` base64; `BIT`
//! and `YEAR` numbers; `JSON` embedded on MySQL (MariaDB's `JSON` is text and stays a string); `DATE` and `DATETIME` ISO 8601 without a zone, `TIMESTAMP`
//! RFC 3339 in UTC (the driver sets the session time zone to UTC), `TIME` `[-]HH:MM:SS[.ffffff]`.
//! A value the driver cannot decode (such as the zero date `0000-00-00`) reads
//! `<undecodable TYPE>`; nothing here panics, whatever the server sends.

use base64::Engine as _;
use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use serde_json::{Number, Value};
use sqlx::mysql::types::MySqlTime;
use sqlx::mysql::{MySql, MySqlValueRef};
use sqlx::types::BigDecimal;
use sqlx::{Decode, TypeInfo, ValueRef};

/// The JSON form of one value.
pub(crate) fn to_json(raw: MySqlValueRef<'_>) -> Value {
    if raw.is_null() {
        return Value::Null;
    }
    let name = raw.type_info().name().to_owned();
    let value = match name.as_str() {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => decode::<i64>(raw).map(Value::from),
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" | "BIGINT UNSIGNED"
        | "YEAR" | "BIT" => decode::<u64>(raw).map(Value::from),
        "FLOAT" => decode::<f32>(raw).map(|f| float(f64::from(f))),
        "DOUBLE" => decode::<f64>(raw).map(float),
        "DECIMAL" => decode::<BigDecimal>(raw).map(|d| Value::String(d.to_string())),
        "JSON" => decode::<String>(raw).map(|s| serde_json::from_str(&s).unwrap_or(Value::String(s))),
        "DATE" => decode::<NaiveDate>(raw).map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
        "DATETIME" => decode::<NaiveDateTime>(raw).map(|t| Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        "TIMESTAMP" => decode::<chrono::DateTime<chrono::Utc>>(raw)
            .map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
        "TIME" => decode::<MySqlTime>(raw).map(|t| Value::String(time(&t))),
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => decode::<Vec<u8>>(raw).map(binary),
        "GEOMETRY" => decode::<Vec<u8>>(raw).map(base64),
        _ => decode::<String>(raw).map(Value::String),
    };
    value.unwrap_or_else(|| Value::String(format!("<undecodable {name}>")))
}

fn decode<'r, T: Decode<'r, MySql>>(raw: MySqlValueRef<'r>) -> Option<T> {
    T::decode(raw).ok()
}

/// The server flags text with a binary collation (`utf8mb4_bin`, MariaDB's `JSON`) as binary too,
/// and the driver does not say which collation a column has: bytes that are printable UTF-8 are
/// text, anything else base64.
fn binary(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) => Value::String(text),
        Ok(text) => base64(text.into_bytes()),
        Err(e) => base64(e.into_bytes()),
    }
}

fn base64(bytes: Vec<u8>) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `[-]HH:MM:SS[.ffffff]`; hours run past 24 (a `TIME` is a duration of up to 838 hours).
fn time(t: &MySqlTime) -> String {
    // `MySqlTime::is_negative` answers the opposite in sqlx 0.8; the sign itself is right.
    let sign = if t.sign().is_negative() { "-" } else { "" };
    let mut out = format!("{sign}{:02}:{:02}:{:02}", t.hours(), t.minutes(), t.seconds());
    if t.microseconds() != 0 {
        out.push_str(&format!(".{:06}", t.microseconds()));
    }
    out
}

fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".to_owned()),
        None if f > 0.0 => Value::String("Infinity".to_owned()),
        None => Value::String("-Infinity".to_owned()),
    }
}
