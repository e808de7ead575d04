//! The two template forms of http tools, parsed once when a manifest loads.
//!
//! * URL templates carry `{name}` placeholders. Each value is percent-encoded as a whole
//!   (everything but RFC 3986 unreserved characters), so an argument can never add a path
//!   segment, a query parameter or a fragment.
//! * Body templates carry Go-template fields, `{{.input.name}}` for an argument and `{{.name}}`
//!   for a body parameter. Only field access is supported; any other action is refused when the
//!   manifest is validated. Values are inserted JSON-escaped for the place they stand in: inside
//!   a JSON string as escaped string content, elsewhere as a JSON literal. No argument can close
//!   a string or inject keys.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

/// Characters percent-encoded in URL values: all but `-._~` and alphanumerics.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A parsed URL template.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlTemplate {
    parts: Vec<UrlPart>,
}

#[derive(Clone, Debug, PartialEq)]
enum UrlPart {
    Lit(String),
    Param(String),
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl UrlTemplate {
    /// Parses `https://host/v1/{id}?q={query}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            lit.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` at byte {} of the URL", text.len() - rest.len() + open))?;
            let name = &after[..close];
            if name.is_empty() || !name.chars().all(is_name_char) {
                return Err(format!("URL placeholder `{{{name}}}` must be a name of letters, digits, `_` or `-`"));
            }
            if !lit.is_empty() {
                parts.push(UrlPart::Lit(std::mem::take(&mut lit)));
            }
            parts.push(UrlPart::Param(name.to_owned()));
            rest = &after[close + 1..];
        }
        lit.push_str(rest);
        if lit.contains('}') {
            return Err("unmatched `}` in the URL".into());
        }
        if !lit.is_empty() {
            parts.push(UrlPart::Lit(lit));
        }
        Ok(Self { parts })
    }

    /// The placeholder names, in order of appearance.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            UrlPart::Param(n) => Some(n.as_str()),
            UrlPart::Lit(_) => None,
        })
    }

    /// The URL with placeholders replaced by harmless text, for syntax checks.
    pub fn sample(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                UrlPart::Lit(l) => l.as_str(),
                UrlPart::Param(_) => "x",
            })
            .collect()
    }

    /// Fills the placeholders from `args`; a missing argument is an error naming it. A value in
    /// the path can never add, remove or climb a segment: it is encoded as a whole (`/` too),
    /// and `.`, `..` and the empty value are refused there.
    pub fn render(&self, args: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                UrlPart::Lit(l) => out.push_str(l),
                UrlPart::Param(name) => {
                    let value = match args.get(name) {
                        None | Some(Value::Null) => {
                            return Err(format!("missing argument `{name}` for the URL"));
                        }
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    };
                    let in_path = !out.contains(['?', '#']);
                    if in_path && matches!(value.as_str(), "" | "." | "..") {
                        return Err(format!(
                            "argument `{name}` is `{value}`, which would change the path of the URL rather than name a value in it"
                        ));
                    }
                    out.extend(utf8_percent_encode(&value, URL_VALUE));
                }
            }
        }
        Ok(out)
    }
}

/// A parsed body template.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyTemplate {
    parts: Vec<BodyPart>,
}

#[derive(Clone, Debug, PartialEq)]
enum BodyPart {
    Lit(String),
    Field { path: Vec<String>, in_string: bool },
}

/// Where a body template field points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldRef<'a> {
    /// `{{.input.name}}`: an argument.
    Input(&'a str),
    /// `{{.name}}`: a body parameter.
    Param(&'a str),
}

impl BodyTemplate {
    /// Parses a body such as `{"name": "{{.input.name}}", "n": {{.input.n}}}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut rest = text;
        loop {
            let next = rest.find("{{");
            let chunk = &rest[..next.unwrap_or(rest.len())];
            for c in chunk.chars() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_string = false;
                    }
                } else if c == '"' {
                    in_string = true;
                }
            }
            lit.push_str(chunk);
            let Some(open) = next else { break };
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| "unclosed `{{` in the body".to_string())?;
            let action = after[..close].trim().trim_start_matches('-').trim_end_matches('-').trim();
            let path = parse_field(action)?;
            if !lit.is_empty() {
                parts.push(BodyPart::Lit(std::mem::take(&mut lit)));
            }
            parts.push(BodyPart::Field { path, in_string });
            rest = &after[close + 2..];
        }
        if !lit.is_empty() {
            parts.push(BodyPart::Lit(lit));
        }
        Ok(Self { parts })
    }

    /// The fields the template reads.
    pub fn fields(&self) -> impl Iterator<Item = FieldRef<'_>> {
        self.parts.iter().filter_map(|p| match p {
            BodyPart::Field { path, .. } if path.len() == 2 && path[0] == "input" => {
                Some(FieldRef::Input(path[1].as_str()))
            }
            BodyPart::Field { path, .. } => Some(FieldRef::Param(path[0].as_str())),
            BodyPart::Lit(_) => None,
        })
    }

    /// The argument names the template reads (`{{.input.NAME...}}`).
    pub fn inputs(&self) -> impl Iterator<Item = &str> {
        self.fields().filter_map(|f| match f {
            FieldRef::Input(n) => Some(n),
            FieldRef::Param(_) => None,
        })
    }

    /// Renders with `input` (the arguments) and `params` (body parameters).
    ///
    /// A missing value renders as an empty string inside a JSON string and as `null` elsewhere.
    pub fn render(&self, input: &Map<String, Value>, params: &Map<String, Value>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                BodyPart::Lit(l) => out.push_str(l),
                BodyPart::Field { path, in_string } => {
                    let value =
                        if path.len() == 2 && path[0] == "input" { input.get(&path[1]) } else { params.get(&path[0]) };
                    match (value, in_string) {
                        (None | Some(Value::Null), true) => {}
                        (None, false) => out.push_str("null"),
                        (Some(Value::String(s)), true) => push_json_escaped(&mut out, s),
                        (Some(v), true) => push_json_escaped(&mut out, &v.to_string()),
                        (Some(v), false) => out.push_str(&v.to_string()),
                    }
                }
            }
        }
        out
    }
}

fn parse_field(action: &str) -> Result<Vec<String>, String> {
    let Some(path) = action.strip_prefix('.') else {
        return Err(format!(
            "unsupported template action `{{{{{action}}}}}`: only fields such as `{{{{.input.name}}}}` are allowed"
        ));
    };
    let segs: Vec<String> = path.split('.').map(str::to_owned).collect();
    let valid = segs.iter().all(|s| !s.is_empty() && s.chars().all(is_name_char));
    let shape = (segs.len() == 2 && segs[0] == "input") || (segs.len() == 1 && segs[0] != "input");
    if !valid || !shape {
        return Err(format!(
            "unsupported template field `{{{{{action}}}}}`: use `{{{{.input.NAME}}}}` or `{{{{.PARAM}}}}`"
        ));
    }
    Ok(segs)
}

fn push_json_escaped(out: &mut String, s: &str) {
    let quoted = Value::String(s.to_owned()).to_string();
    out.push_str(&quoted[1..quoted.len() - 1]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn url_values_cannot_escape_their_slot() {
        let t = UrlTemplate::parse("http://h/v1/{id}?q={q}").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), ["id", "q"]);
        let url = t.render(&map(json!({"id": "../admin", "q": "a&b=c#d e"}))).unwrap();
        assert_eq!(url, "http://h/v1/..%2Fadmin?q=a%26b%3Dc%23d%20e");
        assert!(t.render(&map(json!({"id": 1}))).unwrap_err().contains("`q`"));
    }

    #[test]
    fn body_values_are_json_escaped() {
        let t = BodyTemplate::parse(r#"{"name": "{{.input.name}}", "n": {{ .input.n }}, "org": "{{.org}}"}"#).unwrap();
        let body =
            t.render(&map(json!({"name": "x\", \"admin\": true, \"y\": \"", "n": 3})), &map(json!({"org": "acme"})));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["name"], "x\", \"admin\": true, \"y\": \"");
        assert_eq!(v["n"], 3);
        assert_eq!(v["org"], "acme");
        assert!(v.get("admin").is_none());
    }

    #[test]
    fn refuses_actions() {
        assert!(BodyTemplate::parse("{{ range .x }}").unwrap_err().contains("unsupported"));
        assert!(BodyTemplate::parse("{{.input}}").is_err());
        assert!(UrlTemplate::parse("http://h/{a b}").is_err());
    }
}
