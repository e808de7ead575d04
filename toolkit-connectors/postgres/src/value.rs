//! PostgreSQL values as JSON.
//!
//! Integers and floats become numbers (non-finite floats the strings `NaN`, `Infinity`,
//! `-Infinity`); `numeric` and `money` become strings so no digit is lost; `json`/`jsonb` are
//! embedded; timestamps with a zone are RFC 3339 in UTC, dates and times ISO 8601 (`infinity`
//! stays a string); `interval` is an ISO 8601 duration; `uuid` is text; `bytea` is base64;
//! enums and text types are strings; one-dimensional arrays of these are arrays. Anything else
//! reads `<unsupported type NAME>`. Values are decoded from the driver's bytes and never panic,
//! whatever the server sends.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat};
use serde_json::{Number, Value};
use sqlx::postgres::types::{Oid, PgInterval, PgMoney, PgTimeTz};
use sqlx::postgres::{PgTypeInfo, PgTypeKind, PgValueRef, Postgres};
use sqlx::types::BigDecimal;
use sqlx::{Decode, Type, TypeInfo, ValueRef};

/// Seconds from the Unix epoch to the PostgreSQL epoch, 2000-01-01.
const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;
/// Days from 0001-01-01 (day 1 of the common era) to 2000-01-01.
const PG_EPOCH_CE_DAYS: i32 = 730_120;

/// The JSON form of one value.
pub(crate) fn to_json(raw: PgValueRef<'_>) -> Value {
    if raw.is_null() {
        return Value::Null;
    }
    let ti = raw.type_info().into_owned();
    convert(&raw, &ti)
}

fn convert(raw: &PgValueRef<'_>, ti: &PgTypeInfo) -> Value {
    match ti.name() {
        "BOOL" => scalar::<bool>(raw, Value::Bool),
        "INT2" => scalar::<i16>(raw, Value::from),
        "INT4" => scalar::<i32>(raw, Value::from),
        "INT8" => scalar::<i64>(raw, Value::from),
        "OID" => scalar::<Oid>(raw, |o| Value::from(o.0)),
        "FLOAT4" => scalar::<f32>(raw, float4),
        "FLOAT8" => scalar::<f64>(raw, float8),
        "NUMERIC" => scalar::<NumericText>(raw, |n| Value::String(n.0)),
        "MONEY" => scalar::<PgMoney>(raw, |m| Value::String(money(m.0))),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" | "CITEXT" | "XML" => scalar::<String>(raw, Value::String),
        "\"CHAR\"" => scalar::<i8>(raw, |c| Value::String(char::from(c.to_ne_bytes()[0]).to_string())),
        "JSON" | "JSONB" => scalar::<Value>(raw, |v| v),
        "UUID" => scalar::<sqlx::types::Uuid>(raw, |u| Value::String(u.to_string())),
        "BYTEA" => scalar::<Vec<u8>>(raw, base64),
        "DATE" => scalar::<RawBytes>(raw, date),
        "TIME" => scalar::<NaiveTime>(raw, |t| Value::String(t.format("%H:%M:%S%.f").to_string())),
        "TIMETZ" => scalar::<PgTimeTz<NaiveTime, FixedOffset>>(raw, |t| {
            Value::String(format!("{}{}", t.time.format("%H:%M:%S%.f"), t.offset))
        }),
        "TIMESTAMP" => scalar::<RawBytes>(raw, |b| timestamp(b, false)),
        "TIMESTAMPTZ" => scalar::<RawBytes>(raw, |b| timestamp(b, true)),
        "INTERVAL" => scalar::<PgInterval>(raw, |i| Value::String(interval(&i))),
        "VOID" => Value::Null,
        "BOOL[]" => array::<bool>(raw, Value::Bool),
        "INT2[]" => array::<i16>(raw, Value::from),
        "INT4[]" => array::<i32>(raw, Value::from),
        "INT8[]" => array::<i64>(raw, Value::from),
        "OID[]" => array::<Oid>(raw, |o| Value::from(o.0)),
        "FLOAT4[]" => array::<f32>(raw, float4),
        "FLOAT8[]" => array::<f64>(raw, float8),
        "NUMERIC[]" => array::<NumericText>(raw, |n| Value::String(n.0)),
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" | "CITEXT[]" => array::<String>(raw, Value::String),
        "JSON[]" | "JSONB[]" => array::<Value>(raw, |v| v),
        "UUID[]" => array::<sqlx::types::Uuid>(raw, |u| Value::String(u.to_string())),
        "BYTEA[]" => array::<Vec<u8>>(raw, base64),
        "DATE[]" => array::<RawBytes>(raw, date),
        "TIMESTAMP[]" => array::<RawBytes>(raw, |b| timestamp(b, false)),
        "TIMESTAMPTZ[]" => array::<RawBytes>(raw, |b| timestamp(b, true)),
        "INTERVAL[]" => array::<PgInterval>(raw, |i| Value::String(interval(&i))),
        name => custom(raw, ti, name),
    }
}

/// Enums are their label; domains are their base type; the rest is not converted.
fn custom(raw: &PgValueRef<'_>, ti: &PgTypeInfo, name: &str) -> Value {
    // `kind()` is only defined for types the driver resolved from the catalog (it looks every
    // column type up when it prepares a statement); an unresolved one has no OID or name.
    if ti.oid().is_none() || name == "?" {
        return unsupported(name);
    }
    match ti.kind() {
        PgTypeKind::Enum(_) => scalar::<String>(raw, Value::String),
        PgTypeKind::Domain(base) => {
            if base.name() == name {
                unsupported(name)
            } else {
                convert(raw, base)
            }
        }
        PgTypeKind::Array(elem) if matches!(elem.kind(), PgTypeKind::Enum(_)) => array::<String>(raw, Value::String),
        _ => unsupported(name),
    }
}

fn unsupported(name: &str) -> Value {
    Value::String(format!("<unsupported type {name}>"))
}

fn scalar<'r, T: Decode<'r, Postgres>>(raw: &PgValueRef<'r>, f: impl Fn(T) -> Value) -> Value {
    match T::decode(raw.clone()) {
        Ok(v) => f(v),
        Err(_) => undecodable(raw),
    }
}

fn array<'r, T>(raw: &PgValueRef<'r>, f: impl Fn(T) -> Value) -> Value
where
    T: for<'a> Decode<'a, Postgres> + Type<Postgres>,
{
    match <Vec<Option<T>> as Decode<'r, Postgres>>::decode(raw.clone()) {
        Ok(items) => Value::Array(items.into_iter().map(|v| v.map_or(Value::Null, &f)).collect()),
        Err(_) => undecodable(raw),
    }
}

fn undecodable(raw: &PgValueRef<'_>) -> Value {
    let ti = raw.type_info();
    Value::String(format!("<undecodable {} value>", ti.name()))
}

/// The value's bytes, for types whose driver decoding can overflow (dates and timestamps).
struct RawBytes(Vec<u8>);

impl Type<Postgres> for RawBytes {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("bytea")
    }

    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl Decode<'_, Postgres> for RawBytes {
    fn decode(value: PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(value.as_bytes()?.to_vec()))
    }
}

fn float4(v: f32) -> Value {
    // Through the shortest decimal form, so 0.1f32 reads 0.1 and not 0.10000000149011612.
    v.to_string().parse::<f64>().map_or_else(|_| Value::String(v.to_string()), float8)
}

fn float8(v: f64) -> Value {
    match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None if v.is_nan() => Value::String("NaN".into()),
        None if v > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// A `numeric` as PostgreSQL prints it: all digits, and the column's scale (`12.50`, not `12.5`).
struct NumericText(String);

impl Type<Postgres> for NumericText {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("numeric")
    }

    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl Decode<'_, Postgres> for NumericText {
    fn decode(value: PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
        // Binary layout: ndigits, weight, sign, dscale (each 16 bits), then base-10000 digits.
        let bytes = value.as_bytes()?;
        let text = match bytes.get(4..8) {
            Some([0xC0, 0x00, _, _]) => "NaN".to_owned(),
            Some([0xD0, 0x00, _, _]) => "Infinity".to_owned(),
            Some([0xF0, 0x00, _, _]) => "-Infinity".to_owned(),
            Some([_, _, hi, lo]) => {
                let scale = i64::from(u16::from_be_bytes([*hi, *lo]));
                <BigDecimal as Decode<Postgres>>::decode(value)?.with_scale(scale).to_plain_string()
            }
            _ => return Err("numeric value is too short".into()),
        };
        Ok(Self(text))
    }
}

/// `money` in its smallest unit, shown with two decimals (the `C` and most locales).
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn base64(bytes: Vec<u8>) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn date(b: RawBytes) -> Value {
    let Ok(bytes) = <[u8; 4]>::try_from(b.0.as_slice()) else {
        return Value::String("<undecodable DATE value>".into());
    };
    let days = i32::from_be_bytes(bytes);
    let text = match days {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        d => PG_EPOCH_CE_DAYS
            .checked_add(d)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .map_or_else(|| "<date out of range>".to_owned(), |d| d.format("%Y-%m-%d").to_string()),
    };
    Value::String(text)
}

fn timestamp(b: RawBytes, with_zone: bool) -> Value {
    let Ok(bytes) = <[u8; 8]>::try_from(b.0.as_slice()) else {
        return Value::String("<undecodable TIMESTAMP value>".into());
    };
    let micros = i64::from_be_bytes(bytes);
    let text = match micros {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        us => match (PG_EPOCH_UNIX_SECS * 1_000_000).checked_add(us).and_then(DateTime::from_timestamp_micros) {
            None => "<timestamp out of range>".to_owned(),
            Some(dt) if with_zone => dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Some(dt) => dt.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        },
    };
    Value::String(text)
}

/// ISO 8601, as PostgreSQL's `intervalstyle = iso_8601` writes it: `P1Y2M3DT4H5M6.5S`.
fn interval(i: &PgInterval) -> String {
    let mut out = String::from("P");
    let (years, months) = (i.months / 12, i.months % 12);
    for (n, unit) in [(i64::from(years), 'Y'), (i64::from(months), 'M'), (i64::from(i.days), 'D')] {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    let us = i.microseconds;
    let (hours, rest) = (us / 3_600_000_000, us % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    if us != 0 {
        out.push('T');
        if hours != 0 {
            out.push_str(&format!("{hours}H"));
        }
        if minutes != 0 {
            out.push_str(&format!("{minutes}M"));
        }
        if rest != 0 {
            let sign = if rest < 0 { "-" } else { "" };
            let abs = rest.unsigned_abs();
            let frac = format!("{:06}", abs % 1_000_000);
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                out.push_str(&format!("{sign}{}S", abs / 1_000_000));
            } else {
                out.push_str(&format!("{sign}{}.{frac}S", abs / 1_000_000));
            }
        }
    }
    if out == "P" { "PT0S".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_never_overflow() {
        assert_eq!(date(RawBytes(0i32.to_be_bytes().to_vec())), "2000-01-01");
        assert_eq!(date(RawBytes((-1i32).to_be_bytes().to_vec())), "1999-12-31");
        assert_eq!(date(RawBytes(i32::MAX.to_be_bytes().to_vec())), "infinity");
        assert_eq!(date(RawBytes((i32::MAX - 1).to_be_bytes().to_vec())), "<date out of range>");
        assert_eq!(timestamp(RawBytes(0i64.to_be_bytes().to_vec()), true), "2000-01-01T00:00:00Z");
        assert_eq!(timestamp(RawBytes(1_500_000i64.to_be_bytes().to_vec()), false), "2000-01-01T00:00:01.500");
        assert_eq!(timestamp(RawBytes(i64::MIN.to_be_bytes().to_vec()), true), "-infinity");
        assert_eq!(timestamp(RawBytes((i64::MAX - 1).to_be_bytes().to_vec()), true), "<timestamp out of range>");
        assert_eq!(timestamp(RawBytes(vec![1, 2]), true), "<undecodable TIMESTAMP value>");
    }

    #[test]
    fn intervals_read_as_iso_8601() {
        let iv = |months, days, microseconds| interval(&PgInterval { months, days, microseconds });
        assert_eq!(iv(14, 3, 4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000), "P1Y2M3DT4H5M6.5S");
        assert_eq!(iv(0, 0, 0), "PT0S");
        assert_eq!(iv(0, -1, -500_000), "P-1DT-0.5S");
    }

    #[test]
    fn numbers() {
        assert_eq!(float4(0.1), serde_json::json!(0.1));
        assert_eq!(float8(f64::NAN), "NaN");
        assert_eq!(float8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(money(-1234), "-12.34");
    }
}
