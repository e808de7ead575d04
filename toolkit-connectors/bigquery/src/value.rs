//! JSON values from BigQuery's row format: `{"f": [{"v": ...}]}` with values as strings,
//! records as nested `{"f": ...}` and repeated fields as arrays of `{"v": ...}`.
//!
//! INTEGER becomes a number when a JSON number holds it exactly (else the string), FLOAT a
//! number, BOOLEAN a boolean, TIMESTAMP (asked for as integer microseconds) an RFC 3339 string,
//! JSON its value, RECORD an object and REPEATED an array; NUMERIC, BIGNUMERIC (exact decimals),
//! STRING, BYTES (base64), DATE, DATETIME, TIME and GEOGRAPHY stay strings.

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Number, Value};

use crate::api::Field;

/// Largest integer a JSON number (an f64 in most readers) holds exactly.
const SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The values of one row, in schema order.
pub(crate) fn row_to_json(fields: &[Field], row: &Value) -> Vec<Value> {
    let cells = row.get("f").and_then(Value::as_array);
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let v = cells.and_then(|c| c.get(i)).and_then(|c| c.get("v")).unwrap_or(&Value::Null);
            cell(field, v)
        })
        .collect()
}

fn cell(field: &Field, v: &Value) -> Value {
    if field.mode.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("REPEATED")) {
        let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
        return Value::Array(items.iter().map(|item| scalar(field, item.get("v").unwrap_or(&Value::Null))).collect());
    }
    scalar(field, v)
}

fn scalar(field: &Field, v: &Value) -> Value {
    let type_ = field.type_.to_ascii_uppercase();
    if matches!(type_.as_str(), "RECORD" | "STRUCT") {
        let Some(cells) = v.get("f").and_then(Value::as_array) else { return Value::Null };
        let object: Map<String, Value> = field
            .fields
            .iter()
            .enumerate()
            .map(|(i, sub)| {
                let inner = cells.get(i).and_then(|c| c.get("v")).unwrap_or(&Value::Null);
                (sub.name.clone(), cell(sub, inner))
            })
            .collect();
        return Value::Object(object);
    }
    let Some(text) = v.as_str() else { return v.clone() };
    let converted = match type_.as_str() {
        "INTEGER" | "INT64" => text.parse::<i64>().ok().filter(|n| n.abs() <= SAFE_INTEGER).map(Value::from),
        "FLOAT" | "FLOAT64" => text.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number),
        "BOOLEAN" | "BOOL" => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "TIMESTAMP" => timestamp(text),
        "JSON" => serde_json::from_str(text).ok(),
        _ => None,
    };
    converted.unwrap_or_else(|| Value::from(text))
}

/// Integer microseconds (or, from older answers, float seconds) since the epoch as RFC 3339.
fn timestamp(text: &str) -> Option<Value> {
    let micros = match text.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let secs = text.parse::<f64>().ok().filter(|s| s.is_finite())?;
            (secs * 1_000_000.0).round() as i64
        }
    };
    let t = DateTime::from_timestamp_micros(micros)?;
    Some(Value::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, type_: &str, mode: &str, fields: Vec<Field>) -> Field {
        Field { name: name.into(), type_: type_.into(), mode: Some(mode.into()), fields }
    }

    #[test]
    fn converts_by_schema() {
        let fields = vec![
            field("i", "INTEGER", "NULLABLE", vec![]),
            field("big", "INT64", "NULLABLE", vec![]),
            field("f", "FLOAT", "NULLABLE", vec![]),
            field("b", "BOOLEAN", "NULLABLE", vec![]),
            field("s", "STRING", "NULLABLE", vec![]),
            field("t", "TIMESTAMP", "NULLABLE", vec![]),
            field("old", "TIMESTAMP", "NULLABLE", vec![]),
            field("n", "NUMERIC", "NULLABLE", vec![]),
            field("tags", "STRING", "REPEATED", vec![]),
            field(
                "r",
                "RECORD",
                "NULLABLE",
                vec![field("x", "INTEGER", "NULLABLE", vec![]), field("y", "STRING", "REPEATED", vec![])],
            ),
            field("missing", "STRING", "NULLABLE", vec![]),
        ];
        let row = json!({"f": [
            {"v": "42"}, {"v": "9007199254740993"}, {"v": "1.5"}, {"v": "true"}, {"v": "x"},
            {"v": "1704067200000000"}, {"v": "1.7040672E9"}, {"v": "1.10"},
            {"v": [{"v": "a"}, {"v": "b"}]},
            {"v": {"f": [{"v": "7"}, {"v": [{"v": "z"}]}]}},
            {"v": null}
        ]});
        assert_eq!(
            row_to_json(&fields, &row),
            vec![
                json!(42),
                json!("9007199254740993"),
                json!(1.5),
                json!(true),
                json!("x"),
                json!("2024-01-01T00:00:00Z"),
                json!("2024-01-01T00:00:00Z"),
                json!("1.10"),
                json!(["a", "b"]),
                json!({"x": 7, "y": ["z"]}),
                Value::Null
            ]
        );
    }
}
