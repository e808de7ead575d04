//! Redis replies as JSON, cut to a byte and item budget.
//!
//! | reply | JSON |
//! | --- | --- |
//! | nil | `null` |
//! | integer, double, boolean | number, boolean (non-finite doubles as strings) |
//! | bulk, simple and verbatim strings, big numbers | string |
//! | binary bulk string | `{"$base64": "..."}` |
//! | array, set, push | array |
//! | map | object when every key is a string or integer, else `[[key, value], ...]` |
//! | nested error (inside `EXEC` results) | `{"$error": "CODE detail"}` |

use base64::Engine as _;
use redis::Value as Reply;
use serde_json::{Map, Value};

/// A converted reply.
#[derive(Debug, PartialEq)]
pub(crate) struct Converted {
    pub(crate) value: Value,
    /// Whether strings or collections were cut.
    pub(crate) truncated: bool,
}

/// Converts `reply`, spending at most about `max_bytes` of output and `max_items` elements
/// per collection.
pub(crate) fn to_json(reply: Reply, max_bytes: usize, max_items: usize) -> Converted {
    let mut b = Budget { left: max_bytes, max_items, truncated: false };
    let value = b.convert(reply);
    Converted { value, truncated: b.truncated }
}

struct Budget {
    left: usize,
    max_items: usize,
    truncated: bool,
}

/// What a scalar costs, roughly its JSON length.
const SCALAR: usize = 8;

impl Budget {
    fn spend(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n);
    }

    fn convert(&mut self, reply: Reply) -> Value {
        match reply {
            Reply::Nil => {
                self.spend(4);
                Value::Null
            }
            Reply::Int(i) => {
                self.spend(SCALAR);
                Value::from(i)
            }
            Reply::Boolean(b) => {
                self.spend(5);
                Value::Bool(b)
            }
            Reply::Double(f) => {
                self.spend(SCALAR);
                serde_json::Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
            }
            Reply::Okay => self.string("OK".to_owned()),
            Reply::SimpleString(s) => self.string(s),
            Reply::VerbatimString { text, .. } => self.string(text),
            Reply::BigNumber(n) => self.string(n.to_string()),
            Reply::BulkString(bytes) => match String::from_utf8(bytes) {
                Ok(s) => self.string(s),
                Err(e) => self.binary(e.into_bytes()),
            },
            Reply::Array(items) | Reply::Set(items) | Reply::Push { data: items, .. } => self.list(items),
            Reply::Map(pairs) => self.map(pairs),
            Reply::Attribute { data, .. } => self.convert(*data),
            Reply::ServerError(e) => {
                let text = match e.details() {
                    Some(d) => format!("{} {d}", e.code()),
                    None => e.code().to_owned(),
                };
                let mut obj = Map::new();
                obj.insert("$error".into(), self.string(text));
                Value::Object(obj)
            }
        }
    }

    fn string(&mut self, mut s: String) -> Value {
        let cost = s.len() + 2;
        if cost > self.left {
            let mut keep = self.left.saturating_sub(2).min(s.len());
            while !s.is_char_boundary(keep) {
                keep -= 1;
            }
            s.truncate(keep);
            self.truncated = true;
        }
        self.spend(cost);
        Value::String(s)
    }

    fn binary(&mut self, mut bytes: Vec<u8>) -> Value {
        // Base64 grows data by 4/3.
        let room = self.left.saturating_sub(16) / 4 * 3;
        if bytes.len() > room {
            bytes.truncate(room);
            self.truncated = true;
        }
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        self.spend(text.len() + 16);
        let mut obj = Map::new();
        obj.insert("$base64".into(), Value::String(text));
        Value::Object(obj)
    }

    /// Whether another element fits; marks the output truncated when not.
    fn room_for(&mut self, count: usize) -> bool {
        if count >= self.max_items || self.left == 0 {
            self.truncated = true;
            return false;
        }
        true
    }

    fn list(&mut self, items: Vec<Reply>) -> Value {
        let mut out = Vec::new();
        for item in items {
            if !self.room_for(out.len()) {
                break;
            }
            self.spend(1);
            out.push(self.convert(item));
        }
        Value::Array(out)
    }

    fn map(&mut self, pairs: Vec<(Reply, Reply)>) -> Value {
        let keyed = pairs.iter().all(|(k, _)| {
            matches!(k, Reply::SimpleString(_) | Reply::Int(_) | Reply::Okay)
                || matches!(k, Reply::BulkString(b) if std::str::from_utf8(b).is_ok())
        });
        if !keyed {
            let mut out = Vec::new();
            for (k, v) in pairs {
                if !self.room_for(out.len()) {
                    break;
                }
                out.push(Value::Array(vec![self.convert(k), self.convert(v)]));
            }
            return Value::Array(out);
        }
        let mut out = Map::new();
        for (k, v) in pairs {
            if !self.room_for(out.len()) {
                break;
            }
            let key = match self.convert(k) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.spend(2);
            let value = self.convert(v);
            out.insert(key, value);
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bulk(s: &str) -> Reply {
        Reply::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn converts_each_shape() {
        let reply = Reply::Array(vec![
            Reply::Nil,
            Reply::Int(7),
            bulk("héllo"),
            Reply::BulkString(vec![0xff, 0x00]),
            Reply::Map(vec![(bulk("f"), bulk("v"))]),
            Reply::Set(vec![bulk("a")]),
            Reply::Double(1.5),
            Reply::Double(f64::INFINITY),
            Reply::Boolean(true),
            Reply::Okay,
            Reply::Map(vec![(Reply::Array(vec![]), Reply::Int(1))]),
        ]);
        let out = to_json(reply, 1 << 20, 1000);
        assert!(!out.truncated);
        assert_eq!(
            out.value,
            json!([null, 7, "héllo", {"$base64": "/wA="}, {"f": "v"}, ["a"], 1.5, "inf", true, "OK", [[[], 1]]])
        );
    }

    #[test]
    fn cuts_long_strings_and_arrays() {
        let out = to_json(bulk(&"é".repeat(100)), 64, 1000);
        assert!(out.truncated);
        let s = out.value.as_str().unwrap();
        assert!(s.len() <= 62 && s.chars().all(|c| c == 'é'));

        let many = Reply::Array((0..100).map(Reply::Int).collect());
        let out = to_json(many.clone(), 1 << 20, 10);
        assert_eq!((out.value.as_array().unwrap().len(), out.truncated), (10, true));
        let out = to_json(many, 64, 1000);
        assert!(out.truncated && out.value.as_array().unwrap().len() < 100);
    }
}
