//! JSON values from tiberius' column data: integers, floats and bits as JSON numbers and
//! booleans, strings and XML as strings, DECIMAL/NUMERIC as strings (exact), dates and times as
//! ISO 8601 strings, binary as base64, uniqueidentifier as its usual text.

use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::{Number, Value};
use tiberius::{ColumnData, FromSql};

/// The JSON value of one cell.
pub(crate) fn to_json(data: &ColumnData<'static>) -> Value {
    match data {
        ColumnData::U8(v) => v.map_or(Value::Null, Value::from),
        ColumnData::I16(v) => v.map_or(Value::Null, Value::from),
        ColumnData::I32(v) => v.map_or(Value::Null, Value::from),
        ColumnData::I64(v) => v.map_or(Value::Null, Value::from),
        ColumnData::F32(v) => v.and_then(|f| Number::from_f64(f64::from(f))).map_or(Value::Null, Value::Number),
        ColumnData::F64(v) => v.and_then(Number::from_f64).map_or(Value::Null, Value::Number),
        ColumnData::Bit(v) => v.map_or(Value::Null, Value::Bool),
        ColumnData::String(v) => v.as_deref().map_or(Value::Null, Value::from),
        ColumnData::Guid(v) => v.map_or(Value::Null, |g| Value::from(g.to_string())),
        ColumnData::Binary(v) => {
            v.as_deref().map_or(Value::Null, |b| Value::from(base64::engine::general_purpose::STANDARD.encode(b)))
        }
        ColumnData::Numeric(v) => v.map_or(Value::Null, |n| Value::from(n.to_string())),
        ColumnData::Xml(v) => v.as_deref().map_or(Value::Null, |x| Value::from(x.to_string())),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            text(NaiveDateTime::from_sql(data), |t| t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
        }
        ColumnData::Date(_) => text(NaiveDate::from_sql(data), |d| d.format("%Y-%m-%d").to_string()),
        ColumnData::Time(_) => text(NaiveTime::from_sql(data), |t| t.format("%H:%M:%S%.f").to_string()),
        ColumnData::DateTimeOffset(_) => {
            text(chrono::DateTime::<Utc>::from_sql(data), |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
    }
}

fn text<T>(value: tiberius::Result<Option<T>>, f: impl Fn(T) -> String) -> Value {
    match value {
        Ok(Some(v)) => Value::from(f(v)),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;
    use tiberius::numeric::Numeric;
    use tiberius::time::{Date, DateTime2, Time};

    #[test]
    fn converts_column_data() {
        assert_eq!(to_json(&ColumnData::I32(Some(7))), json!(7));
        assert_eq!(to_json(&ColumnData::I64(None)), Value::Null);
        assert_eq!(to_json(&ColumnData::F64(Some(1.5))), json!(1.5));
        assert_eq!(to_json(&ColumnData::Bit(Some(true))), json!(true));
        assert_eq!(to_json(&ColumnData::String(Some(Cow::Borrowed("x")))), json!("x"));
        assert_eq!(to_json(&ColumnData::Binary(Some(Cow::Borrowed(&[1u8, 2, 3][..])))), json!("AQID"));
        assert_eq!(to_json(&ColumnData::Numeric(Some(Numeric::new_with_scale(12345, 2)))), json!("123.45"));
        let guid = tiberius::Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap();
        assert_eq!(to_json(&ColumnData::Guid(Some(guid))), json!("67e55044-10b1-426f-9247-bb680e5fe0c8"));
        // 2024-01-01 is day 738885 since 0001-01-01; 3 h 30 min in 100 ns increments (scale 7).
        let date = Date::new(738_885);
        assert_eq!(to_json(&ColumnData::Date(Some(date))), json!("2024-01-01"));
        let time = Time::new(126_000_000_000, 7);
        assert_eq!(to_json(&ColumnData::Time(Some(time))), json!("03:30:00"));
        assert_eq!(to_json(&ColumnData::DateTime2(Some(DateTime2::new(date, time)))), json!("2024-01-01T03:30:00"));
    }
}
