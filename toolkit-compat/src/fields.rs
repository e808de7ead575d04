//! Strict reading of peer documents and building of native ones.
//!
//! [`Fields`] reads one mapping of a peer document: a key the peer format does not define is an
//! error (as `kubectl apply` reports it), and each value is checked for its type, so every
//! problem names its field path. Messages name fields and kinds of values, never the values
//! themselves, because peer files can hold credentials.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_yaml::{Mapping, Value as Yaml};

use toolkit_core::duration::Duration;
use toolkit_core::model::{ConfigMapKeySelector, SecretKeySelector, Tool, ToolSpec, ValueFrom};
use toolkit_core::validate::FieldError;

/// One mapping of a peer document, with its path from the document root.
#[derive(Clone, Debug)]
pub(crate) struct Fields<'a> {
    map: &'a Mapping,
    path: String,
}

impl<'a> Fields<'a> {
    /// Reads `value` as a mapping found at `path`.
    pub(crate) fn new(value: &'a Yaml, path: impl Into<String>) -> Result<Self, FieldError> {
        let path = path.into();
        match value {
            Yaml::Mapping(map) => Ok(Self { map, path }),
            _ => Err(FieldError::new(path, format!("must be a mapping, not {}", kind_of(value)))),
        }
    }

    /// The root mapping of a document.
    pub(crate) fn root(value: &'a Yaml) -> Result<Self, FieldError> {
        Self::new(value, "")
    }

    /// The path of this mapping.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The path of `key` in this mapping.
    pub(crate) fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The keys present, in document order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'a str> {
        self.map.keys().filter_map(Yaml::as_str)
    }

    /// Refuses keys other than `known`.
    pub(crate) fn allow(&self, known: &[&str]) -> Result<(), FieldError> {
        for key in self.map.keys() {
            let Some(key) = key.as_str() else {
                return Err(FieldError::new(self.path.clone(), "keys must be strings"));
            };
            if !known.contains(&key) {
                let expected = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                return Err(FieldError::new(self.at(key), format!("unknown field; expected one of {expected}")));
            }
        }
        Ok(())
    }

    /// The value of `key`; an explicit `null` counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Yaml> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` is set.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A string.
    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// A string that must be present and not blank.
    pub(crate) fn required_str(&self, key: &str) -> Result<&'a str, FieldError> {
        match self.str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(FieldError::new(self.at(key), "must not be empty")),
            None => Err(FieldError::new(self.at(key), "is required")),
        }
    }

    /// A string, owned.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, FieldError> {
        Ok(self.str(key)?.map(str::to_owned))
    }

    /// A scalar written as text: versions such as `2.0` are often left unquoted.
    pub(crate) fn text(&self, key: &str) -> Result<Option<String>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(Yaml::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// A boolean.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Yaml::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(key, "true or false", other)),
        }
    }

    /// A whole number that fits in a `u32`.
    pub(crate) fn u32(&self, key: &str) -> Result<Option<u32>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a whole number", v)),
        }
    }

    /// A nested mapping.
    pub(crate) fn map(&self, key: &str) -> Result<Option<Fields<'a>>, FieldError> {
        self.get(key).map(|v| Fields::new(v, self.at(key))).transpose()
    }

    /// A nested mapping that must be present.
    pub(crate) fn required_map(&self, key: &str) -> Result<Fields<'a>, FieldError> {
        self.map(key)?.ok_or_else(|| FieldError::new(self.at(key), "is required"))
    }

    /// The items of a list, each with its path; absent is empty.
    pub(crate) fn list(&self, key: &str) -> Result<Vec<(String, &'a Yaml)>, FieldError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Yaml::Sequence(items)) => {
                Ok(items.iter().enumerate().map(|(i, v)| (format!("{}[{i}]", self.at(key)), v)).collect())
            }
            Some(other) => Err(self.wrong(key, "a list", other)),
        }
    }

    /// A list of mappings.
    pub(crate) fn maps(&self, key: &str) -> Result<Vec<Fields<'a>>, FieldError> {
        self.list(key)?.into_iter().map(|(path, v)| Fields::new(v, path)).collect()
    }

    /// A list of strings.
    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, FieldError> {
        self.list(key)?
            .into_iter()
            .map(|(path, v)| match v {
                Yaml::String(s) => Ok(s.clone()),
                other => Err(FieldError::new(path, format!("must be a string, not {}", kind_of(other)))),
            })
            .collect()
    }

    /// A mapping of strings to strings.
    pub(crate) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, FieldError> {
        let Some(map) = self.map(key)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (k, v) in map.map {
            let Some(k) = k.as_str() else {
                return Err(FieldError::new(map.path.clone(), "keys must be strings"));
            };
            match v {
                Yaml::String(s) => {
                    out.insert(k.to_owned(), s.clone());
                }
                other => return Err(map.wrong(k, "a string", other)),
            }
        }
        Ok(out)
    }

    /// Free-form JSON (a schema).
    pub(crate) fn json(&self, key: &str) -> Result<Option<serde_json::Value>, FieldError> {
        self.get(key)
            .map(|v| {
                serde_json::to_value(v)
                    .map_err(|_| FieldError::new(self.at(key), "cannot be represented as JSON (keys must be strings)"))
            })
            .transpose()
    }

    /// A duration such as `30s`; a bare number is read as seconds when `bare_seconds`.
    pub(crate) fn duration(&self, key: &str, bare_seconds: bool) -> Result<Option<Duration>, FieldError> {
        let text = match self.get(key) {
            None => return Ok(None),
            Some(Yaml::Number(n)) if bare_seconds => format!("{n}s"),
            Some(Yaml::String(s)) if bare_seconds && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{s}s")
            }
            Some(Yaml::String(s)) => s.clone(),
            Some(other) => return Err(self.wrong(key, "a duration such as `30s`", other)),
        };
        text.parse().map(Some).map_err(|e: String| FieldError::new(self.at(key), e))
    }

    fn wrong(&self, key: &str, expected: &str, got: &Yaml) -> FieldError {
        FieldError::new(self.at(key), format!("must be {expected}, not {}", kind_of(got)))
    }
}

/// `a.b` from `a` and `b`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The same error, found in a value read at `path`.
pub(crate) fn under(path: &str, err: FieldError) -> FieldError {
    let inner = if err.path.is_empty() { path.to_owned() } else { join(path, &err.path) };
    FieldError::new(inner, err.message)
}

fn kind_of(value: &Yaml) -> &'static str {
    match value {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

/// Refuses top-level keys other than those of a Kubernetes object.
pub(crate) fn check_object(root: &Fields<'_>) -> Result<(), FieldError> {
    root.allow(&["apiVersion", "kind", "metadata", "spec", "status"])
}

/// The metadata a converted resource keeps: name, namespace, labels and annotations. Fields the
/// API server manages (uid, resourceVersion...) are left behind.
pub(crate) fn metadata(root: &Fields<'_>) -> Result<ObjectMeta, FieldError> {
    let meta = root.required_map("metadata")?;
    let labels = meta.string_map("labels")?;
    let annotations = meta.string_map("annotations")?;
    Ok(ObjectMeta {
        name: Some(meta.required_str("name")?.to_owned()),
        namespace: meta.string("namespace")?,
        labels: (!labels.is_empty()).then_some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    })
}

/// Metadata with a name and namespace only.
pub(crate) fn named(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_owned()), namespace: namespace.map(str::to_owned), ..ObjectMeta::default() }
}

/// A native `kind: Tool` document.
pub(crate) fn tool_document(metadata: ObjectMeta, spec: ToolSpec) -> Result<Yaml, FieldError> {
    document(&Tool { metadata, spec, status: None })
}

/// Any native resource as a YAML document.
pub(crate) fn document<T: Serialize>(resource: &T) -> Result<Yaml, FieldError> {
    serde_yaml::to_value(resource).map_err(|e| FieldError::new("", format!("cannot write the converted document: {e}")))
}

/// A Kubernetes name from a peer's tool name: `my_tool` becomes `my-tool`. `None` when no valid
/// name results.
pub(crate) fn object_name(name: &str) -> Option<String> {
    let converted: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    toolkit_core::validate::check_object_name("", &converted).is_none().then_some(converted)
}

/// A core `SecretKeySelector` or `ConfigMapKeySelector` (`{name, key, optional}`), as native
/// `valueFrom`; `optional` has no native equivalent and is noted.
pub(crate) fn value_from(from: &Fields<'_>, extra: &[&str], notes: &mut Vec<String>) -> Result<ValueFrom, FieldError> {
    let mut known = vec!["secretKeyRef", "configMapKeyRef"];
    known.extend_from_slice(extra);
    from.allow(&known)?;
    if let Some(key) = extra.iter().find(|k| from.has(k)) {
        return Err(FieldError::new(
            from.at(key),
            "values resolved by the peer at call time have no toolkit equivalent",
        ));
    }
    let mut out = ValueFrom::default();
    if let Some(sel) = from.map("secretKeyRef")? {
        let (name, key) = key_selector(&sel, notes)?;
        out.secret_key_ref = Some(SecretKeySelector { name, key, namespace: None });
    }
    if let Some(sel) = from.map("configMapKeyRef")? {
        let (name, key) = key_selector(&sel, notes)?;
        out.config_map_key_ref = Some(ConfigMapKeySelector { name, key });
    }
    Ok(out)
}

fn key_selector(sel: &Fields<'_>, notes: &mut Vec<String>) -> Result<(String, String), FieldError> {
    sel.allow(&["name", "key", "optional"])?;
    if sel.bool("optional")? == Some(true) {
        notes.push(format!(
            "{}: `optional: true` is not kept; toolkit requires the referenced key to exist",
            sel.at("optional")
        ));
    }
    Ok((sel.required_str("name")?.to_owned(), sel.required_str("key")?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Yaml {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_field() {
        let v = yaml("spec: {a: 1, b: x}");
        let root = Fields::root(&v).unwrap();
        let spec = root.required_map("spec").unwrap();
        assert_eq!(spec.allow(&["a"]).unwrap_err().path, "spec.b");
        let err = spec.str("a").unwrap_err();
        assert_eq!(err.to_string(), "spec.a: must be a string, not a number");
    }

    #[test]
    fn durations_and_names() {
        let v = yaml("{a: 30, b: '45', c: 1m30s, d: soon}");
        let f = Fields::root(&v).unwrap();
        assert_eq!(f.duration("a", true).unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(f.duration("b", true).unwrap(), Some(Duration::from_secs(45)));
        assert_eq!(f.duration("c", false).unwrap(), Some(Duration::from_secs(90)));
        assert_eq!(f.duration("d", false).unwrap_err().path, "d");
        assert!(f.duration("b", false).is_err());
        assert_eq!(object_name("My_Tool").as_deref(), Some("my-tool"));
        assert_eq!(object_name("_x"), None);
    }
}
