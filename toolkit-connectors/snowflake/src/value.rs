//! JSON values from the strings of the SQL API's `jsonv2` result format.
//!
//! The API sends every value as a string (or null) and describes it in `rowType`: FIXED and
//! REAL become numbers where a JSON number holds them exactly, BOOLEAN a boolean, VARIANT,
//! OBJECT and ARRAY their JSON, DATE, TIME and TIMESTAMP_* (sent as days or seconds since the
//! epoch) ISO 8601 strings, and everything else (TEXT, BINARY as hex) the string itself.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat};
use serde_json::{Number, Value};

use crate::api::Column;

/// Largest integer a JSON number (an f64 in most readers) holds exactly.
const SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The JSON value of one cell.
pub(crate) fn to_json(column: &Column, raw: Option<&str>) -> Value {
    let Some(raw) = raw else { return Value::Null };
    let converted = match column.type_.to_ascii_lowercase().as_str() {
        "fixed" if column.scale.unwrap_or(0) == 0 => {
            raw.parse::<i64>().ok().filter(|n| n.abs() <= SAFE_INTEGER).map(Value::from)
        }
        "fixed" | "real" => float(raw),
        "boolean" => match raw {
            "true" | "1" | "TRUE" => Some(Value::Bool(true)),
            "false" | "0" | "FALSE" => Some(Value::Bool(false)),
            _ => None,
        },
        "variant" | "object" | "array" => serde_json::from_str(raw).ok(),
        "date" => raw
            .parse::<i64>()
            .ok()
            .and_then(|days| NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days)))
            .map(|d| Value::from(d.format("%Y-%m-%d").to_string())),
        "time" => nanos(raw).and_then(|n| {
            let secs = u32::try_from(n.div_euclid(1_000_000_000)).ok()?;
            let frac = u32::try_from(n.rem_euclid(1_000_000_000)).ok()?;
            NaiveTime::from_num_seconds_from_midnight_opt(secs, frac).map(|t| Value::from(t.to_string()))
        }),
        "timestamp_ntz" => {
            timestamp(raw).map(|t| Value::from(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string()))
        }
        "timestamp_ltz" => timestamp(raw).map(|t| Value::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
        "timestamp_tz" => {
            // `<seconds since the epoch> <offset in minutes + 1440>`.
            let mut parts = raw.split_whitespace();
            match (parts.next().and_then(timestamp), parts.next().and_then(|o| o.parse::<i32>().ok())) {
                (Some(t), Some(offset)) => FixedOffset::east_opt((offset - 1440) * 60)
                    .map(|tz| Value::from(t.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::AutoSi, true))),
                _ => None,
            }
        }
        _ => None,
    };
    converted.unwrap_or_else(|| Value::from(raw))
}

/// A number, when the text is one that an f64 holds without losing digits.
fn float(raw: &str) -> Option<Value> {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if digits > 15 {
        return None;
    }
    raw.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number)
}

/// `[-]seconds[.fraction]` as nanoseconds.
fn nanos(raw: &str) -> Option<i128> {
    let (negative, text) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let frac: i128 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    let n = whole * 1_000_000_000 + frac;
    Some(if negative { -n } else { n })
}

fn timestamp(raw: &str) -> Option<DateTime<chrono::Utc>> {
    let n = nanos(raw)?;
    let secs = i64::try_from(n.div_euclid(1_000_000_000)).ok()?;
    let frac = u32::try_from(n.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(secs, frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn col(type_: &str, scale: i64) -> Column {
        Column { name: "c".into(), type_: type_.into(), scale: Some(scale) }
    }

    #[test]
    fn converts_by_column_type() {
        assert_eq!(to_json(&col("fixed", 0), Some("42")), json!(42));
        assert_eq!(to_json(&col("fixed", 0), Some("99999999999999999999")), json!("99999999999999999999"));
        assert_eq!(to_json(&col("fixed", 2), Some("1.50")), json!(1.5));
        assert_eq!(to_json(&col("real", 0), Some("2.5e3")), json!(2500.0));
        assert_eq!(to_json(&col("boolean", 0), Some("false")), json!(false));
        assert_eq!(to_json(&col("text", 0), Some("x")), json!("x"));
        assert_eq!(to_json(&col("text", 0), None), Value::Null);
        assert_eq!(to_json(&col("variant", 0), Some("{\"a\": [1]}")), json!({"a": [1]}));
        assert_eq!(to_json(&col("date", 0), Some("18262")), json!("2020-01-01"));
        assert_eq!(to_json(&col("time", 9), Some("3661.500000000")), json!("01:01:01.500"));
        assert_eq!(to_json(&col("timestamp_ntz", 9), Some("1577836800.000000000")), json!("2020-01-01T00:00:00"));
        assert_eq!(to_json(&col("timestamp_ltz", 9), Some("-1.500000000")), json!("1969-12-31T23:59:58.500Z"));
        assert_eq!(
            to_json(&col("timestamp_tz", 9), Some("1577836800.000000000 1500")),
            json!("2020-01-01T01:00:00+01:00")
        );
        assert_eq!(to_json(&col("date", 0), Some("soon")), json!("soon"));
    }
}
