//! Reading a type's own blocks (`spec.config`, `spec.http`...) into the connector's types.
//!
//! Connectors declare their config as plain serde types (`rename_all = "camelCase"`,
//! `deny_unknown_fields`) that also derive `JsonSchema`. [`read`] turns the JSON kept in the
//! spec into such a type and reports problems the way a user can act on: every key the type
//! does not take at once, with the closest known key or the list of keys the type takes, then
//! the first value of a wrong shape, each under its full field path.

use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::{Reference, SecretKeySelector};
use crate::validate::{FieldError, closest};

/// Reads `value`, found at `path` of a tool of type `type_name`, as `T`; every problem is
/// returned.
pub fn read<T: DeserializeOwned + JsonSchema>(
    path: &str,
    value: &Value,
    type_name: &str,
) -> Result<T, Vec<FieldError>> {
    let mut errs = Vec::new();
    match read_into(path, value, type_name, &mut errs) {
        Some(t) if errs.is_empty() => Ok(t),
        _ => Err(errs),
    }
}

/// Reads `value` as `T` like [`read`], pushing its problems into `errs` and reading as much as
/// it can: unknown keys are reported and left out, so the connector can still check the rest.
/// `None` when a value has the wrong shape.
pub fn read_into<T: DeserializeOwned + JsonSchema>(
    path: &str,
    value: &Value,
    type_name: &str,
    errs: &mut Vec<FieldError>,
) -> Option<T> {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        let known = keys_of::<T>();
        if !known.is_empty() {
            let mut unknown: Vec<String> = map.keys().filter(|k| !known.iter().any(|n| n == *k)).cloned().collect();
            unknown.sort();
            for k in unknown {
                errs.push(unknown_key(path, &k, &known, type_name));
                map.remove(&k);
            }
        }
    }
    match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let at = if inner == "." { path.to_owned() } else { format!("{path}.{inner}") };
            errs.push(crate::manifest::serde_error(at, &e.inner().to_string()));
            None
        }
    }
}

/// The top-level property names of `T`'s schema, in declaration order.
pub fn keys_of<T: JsonSchema>() -> Vec<String> {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

fn unknown_key(path: &str, key: &str, known: &[String], type_name: &str) -> FieldError {
    let at = format!("{path}.{key}");
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    match closest(key, &names) {
        Some(near) => FieldError::new(at, format!("unknown field; did you mean `{near}`?")),
        None => {
            let who = if type_name.is_empty() { "this type".to_owned() } else { format!("{type_name} tools") };
            FieldError::new(at, format!("is not used by {who}; they take: {}", names.join(", ")))
        }
    }
}

/// The Secret references in the fields `fields` of the block at `path` (`spec.config`), read
/// from the JSON as written; a field that is not a reference is left to validation.
pub fn secret_fields(block: Option<&Value>, path: &str, fields: &[&str]) -> Vec<Reference> {
    let Some(block) = block else { return Vec::new() };
    fields
        .iter()
        .filter_map(|f| {
            let selector: SecretKeySelector = serde_json::from_value(block.get(*f)?.clone()).ok()?;
            Some(Reference::secret(format!("{path}.{f}"), &selector))
        })
        .collect()
}

/// Makes each string field of `fields` in `spec.config` relative to `dir` when it is a relative
/// path (see [`resolve_relative_path`]).
pub fn resolve_config_paths(spec: &mut crate::ToolSpec, fields: &[&str], dir: &Path) {
    if let Some(c) = spec.config.as_mut() {
        for f in fields {
            resolve_relative_path(c, f, dir);
        }
    }
}

/// Makes the string at `value[key]` relative to `dir` when it is a relative path: file paths in
/// a manifest (`caFile`, a database file) are relative to the manifest's folder, so a folder of
/// manifests works from any working directory.
pub fn resolve_relative_path(value: &mut Value, key: &str, dir: &Path) {
    if let Some(Value::String(p)) = value.get_mut(key)
        && !p.is_empty()
        && Path::new(p.as_str()).is_relative()
    {
        *p = dir.join(p.as_str()).to_string_lossy().into_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Settings {
        hostname: String,
        #[serde(default)]
        port: Option<u16>,
    }

    #[test]
    fn every_unknown_key_is_named_with_a_suggestion_or_the_known_keys() {
        let errs = read::<Settings>("spec.config", &json!({"hostnme": "h", "zzz": 1}), "my-queue").unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "spec.config.hostnme: unknown field; did you mean `hostname`?",
                "spec.config.zzz: is not used by my-queue tools; they take: hostname, port",
                "spec.config: missing field `hostname`"
            ]
        );
    }

    #[test]
    fn a_wrong_shape_names_its_path() {
        let errs = read::<Settings>("spec.config", &json!({"hostname": "h", "port": "x"}), "t").unwrap_err();
        assert_eq!(errs[0].path, "spec.config.port");
        let ok = read::<Settings>("spec.config", &json!({"hostname": "h"}), "t").unwrap();
        assert_eq!((ok.hostname.as_str(), ok.port), ("h", None));
    }

    #[test]
    fn relative_paths_join_the_manifest_folder() {
        let mut v = json!({"caFile": "ca.pem", "path": "/abs/db"});
        resolve_relative_path(&mut v, "caFile", Path::new("/m"));
        resolve_relative_path(&mut v, "path", Path::new("/m"));
        assert_eq!(v, json!({"caFile": "/m/ca.pem", "path": "/abs/db"}));
    }
}
