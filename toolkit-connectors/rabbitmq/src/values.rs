//! AMQP field values and message bodies as JSON, and JSON header values as AMQP fields.
//!
//! | AMQP | JSON |
//! | --- | --- |
//! | integers, floats, booleans | numbers, booleans |
//! | short and long strings (UTF-8) | string |
//! | bytes, non-UTF-8 strings and bodies | `{"$base64": "..."}` |
//! | decimal | `{"$decimal": {"scale", "value"}}` |
//! | timestamp | number (seconds since the epoch) |
//! | array, table | array, object |
//! | void | `null` |

use base64::Engine as _;
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString, ShortString};
use serde_json::{Map, Number, Value, json};
use toolkit_core::{Error, Result};

/// The JSON form of a field table.
pub(crate) fn table_to_json(table: &FieldTable) -> Value {
    Value::Object(table.inner().iter().map(|(k, v)| (k.as_str().to_owned(), value_to_json(v))).collect())
}

/// The JSON form of one field value.
pub(crate) fn value_to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(n) => json!(n),
        AMQPValue::ShortShortUInt(n) => json!(n),
        AMQPValue::ShortInt(n) => json!(n),
        AMQPValue::ShortUInt(n) => json!(n),
        AMQPValue::LongInt(n) => json!(n),
        AMQPValue::LongUInt(n) => json!(n),
        AMQPValue::LongLongInt(n) => json!(n),
        AMQPValue::Timestamp(n) => json!(n),
        AMQPValue::Float(f) => float(f64::from(*f)),
        AMQPValue::Double(f) => float(*f),
        AMQPValue::DecimalValue(d) => json!({"$decimal": {"scale": d.scale, "value": d.value}}),
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => bytes_to_json(s.as_bytes()),
        AMQPValue::ByteArray(b) => json!({"$base64": b64(b.as_slice())}),
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(value_to_json).collect()),
        AMQPValue::FieldTable(t) => table_to_json(t),
        AMQPValue::Void => Value::Null,
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

/// A string when `bytes` are UTF-8, else `{"$base64": ...}`.
pub(crate) fn bytes_to_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_owned()),
        Err(_) => json!({"$base64": b64(bytes)}),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A message body from the call: a string as UTF-8, `{"$base64": ...}` as bytes, any other
/// JSON value as its JSON text.
pub(crate) fn body_from_json(value: Option<&Value>) -> Result<Vec<u8>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("$base64") => match &o["$base64"] {
            Value::String(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| Error::invalid_input("read `body.$base64`").with_source(e)),
            _ => Err(Error::invalid_input("read `body.$base64`: use a base64 string")),
        },
        Some(other) => Ok(other.to_string().into_bytes()),
    }
}

/// A header table from a JSON object.
pub(crate) fn table_from_json(value: &Map<String, Value>, path: &str) -> Result<FieldTable> {
    let mut table = FieldTable::default();
    for (k, v) in value {
        let key = ShortString::try_new(k.clone())
            .map_err(|_| Error::invalid_input(format!("read `{path}`: the key `{k}` is longer than 255 bytes")))?;
        table.insert(key, value_from_json(v, &format!("{path}.{k}"))?);
    }
    Ok(table)
}

fn value_from_json(value: &Value, path: &str) -> Result<AMQPValue> {
    Ok(match value {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => AMQPValue::LongLongInt(i),
            (None, Some(f)) => AMQPValue::Double(f),
            _ => return Err(Error::invalid_input(format!("read `{path}`: {n} does not fit a 64-bit number"))),
        },
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_bytes().to_vec())),
        Value::Array(items) => {
            let mut array = FieldArray::default();
            for (i, item) in items.iter().enumerate() {
                array.push(value_from_json(item, &format!("{path}[{i}]"))?);
            }
            AMQPValue::FieldArray(array)
        }
        Value::Object(o) => AMQPValue::FieldTable(table_from_json(o, path)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let headers = json!({"n": 1, "s": "x", "b": true, "f": 1.5, "a": [1, "y"], "t": {"k": null}});
        let table = table_from_json(headers.as_object().unwrap(), "headers").unwrap();
        assert_eq!(table_to_json(&table), headers);
    }

    #[test]
    fn bodies_in_and_out() {
        assert_eq!(body_from_json(Some(&json!("hi"))).unwrap(), b"hi");
        assert_eq!(body_from_json(Some(&json!({"$base64": "/wA="}))).unwrap(), [0xff, 0]);
        assert_eq!(body_from_json(Some(&json!({"a": 1}))).unwrap(), br#"{"a":1}"#);
        assert!(body_from_json(Some(&json!({"$base64": "!"}))).is_err());
        assert_eq!(bytes_to_json(&[0xff, 0]), json!({"$base64": "/wA="}));
        assert_eq!(value_to_json(&AMQPValue::ByteArray(vec![1].into())), json!({"$base64": "AQ=="}));
    }
}
