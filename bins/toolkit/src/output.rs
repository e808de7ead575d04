//! Rendering: readable tables by default, JSON or YAML on request.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;
use serde_json::Value;
use toolkit_core::{Error, Result};

use crate::cli::Format;

/// Prints `value` as JSON or YAML; returns false for the table format.
pub fn structured<T: Serialize>(format: Format, value: &T) -> Result<bool> {
    match format {
        Format::Table => Ok(false),
        Format::Json => {
            let text =
                serde_json::to_string_pretty(value).map_err(|e| Error::internal("render JSON").with_source(e))?;
            println!("{text}");
            Ok(true)
        }
        Format::Yaml => {
            let text = serde_yaml::to_string(value).map_err(|e| Error::internal("render YAML").with_source(e))?;
            print!("{text}");
            Ok(true)
        }
    }
}

/// A table with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Dynamic).set_header(header.iter().copied());
    t
}

/// Prints a JSON value for a person: rows as a table when it has `rows` of objects, otherwise
/// pretty JSON.
pub fn human_value(value: &Value) {
    if let Some(rows) = value.get("rows").and_then(Value::as_array) {
        let columns: Vec<String> = match value.get("columns").and_then(Value::as_array) {
            Some(cols) => cols
                .iter()
                .map(|c| {
                    c.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| c.get("name").and_then(Value::as_str).unwrap_or("?").to_owned())
                })
                .collect(),
            None => rows.first().and_then(Value::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default(),
        };
        if rows.iter().all(Value::is_object) && !columns.is_empty() {
            let header: Vec<&str> = columns.iter().map(String::as_str).collect();
            let mut t = table(&header);
            for row in rows {
                t.add_row(columns.iter().map(|c| cell(row.get(c).unwrap_or(&Value::Null))));
            }
            println!("{t}");
            println!("({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" });
            return;
        }
    }
    match value {
        Value::String(s) => println!("{s}"),
        other => println!("{}", serde_json::to_string_pretty(other).unwrap_or_default()),
    }
}

/// A JSON value as a table cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Shortens long text for a table cell.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Milliseconds for people.
pub fn ms(v: f64) -> String {
    if v >= 1000.0 { format!("{:.2}s", v / 1000.0) } else { format!("{v:.1}ms") }
}
