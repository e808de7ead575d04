//! `gostoa.dev/v1alpha1` Tool: an HTTP endpoint exposed as an MCP tool.
//!
//! Two shapes are read. The CRD stoa ships writes `auth` as a string (`bearer`,
//! `service_account`, `none`) and `rateLimit` as an expression (`100/min`); the documented shape
//! writes `authentication: {type, secretRef, headerName}` and
//! `rateLimit: {requestsPerMinute, burst}`. Both become an `http` tool.

use serde_yaml::Value as Yaml;

use crate::Converted;
use crate::fields::{Fields, check_object, metadata, tool_document};
use toolkit_core::model::{AuthType, Authentication, RateLimit, SecretKeySelector, ToolAnnotations, ToolSpec};
use toolkit_core::validate::FieldError;

/// The `apiVersion` of stoa resources.
pub(crate) const API_VERSION: &str = "gostoa.dev/v1alpha1";

const SPEC_FIELDS: &[&str] = &[
    "displayName",
    "description",
    "endpoint",
    "method",
    "inputSchema",
    "outputSchema",
    "auth",
    "authentication",
    "rateLimit",
    "annotations",
    "version",
    "tags",
    "timeout",
    "enabled",
    "apiRef",
];

/// Converts one stoa Tool.
pub(crate) fn convert(value: &Yaml) -> Result<Converted, FieldError> {
    let root = Fields::root(value)?;
    check_object(&root)?;
    let metadata = metadata(&root)?;
    let spec = root.required_map("spec")?;
    spec.allow(SPEC_FIELDS)?;
    let mut notes = Vec::new();

    let url = spec
        .str("endpoint")?
        .ok_or_else(|| FieldError::new("spec.endpoint", "is required: toolkit calls the endpoint itself"))?;
    // stoa's documented default.
    let method = spec.str("method")?.unwrap_or("POST");
    let authentication = match (spec.str("auth")?, spec.map("authentication")?) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new("spec.auth", "set either `auth` or `authentication`, not both"));
        }
        (Some(auth), None) => auth_string(auth, &mut notes)?,
        (None, Some(auth)) => authentication(&auth, &mut notes)?,
        (None, None) => None,
    };
    if spec.has("apiRef") {
        notes.push("spec.apiRef (the source API of the tool) has no toolkit equivalent and was not imported".into());
    }

    let out = ToolSpec {
        type_: "http".into(),
        display_name: spec.string("displayName")?,
        description: spec.string("description")?,
        version: spec.text("version")?,
        tags: spec.strings("tags")?,
        enabled: spec.bool("enabled")?.unwrap_or(true),
        timeout: spec.duration("timeout", false)?,
        input_schema: spec.json("inputSchema")?,
        output_schema: spec.json("outputSchema")?,
        rate_limit: rate_limit(&spec, &mut notes)?,
        annotations: spec.map("annotations")?.map(|a| annotations(&a)).transpose()?,
        ..ToolSpec::default()
    }
    .with_block(
        "http",
        crate::native::Http { url: url.to_owned(), method: Some(method.to_owned()), ..crate::native::Http::default() },
    )
    .with_block_opt("authentication", authentication);
    Ok(Converted { documents: vec![tool_document(metadata, out)?], notes, deferred: Vec::new() })
}

/// The shipped CRD's `auth: bearer | service_account | none`, which names no credential.
fn auth_string(auth: &str, notes: &mut Vec<String>) -> Result<Option<Authentication>, FieldError> {
    match auth {
        "none" => Ok(None),
        "bearer" | "service_account" => {
            notes.push(format!(
                "spec.auth `{auth}` names no credential, so the converted tool sends none; \
                 add `spec.authentication` with a `secretRef` if the endpoint needs one"
            ));
            Ok(None)
        }
        other => Err(FieldError::new(
            "spec.auth",
            format!("unknown auth `{other}`; stoa defines bearer, service_account and none"),
        )),
    }
}

/// The documented `authentication: {type, secretRef, headerName}`.
fn authentication(auth: &Fields<'_>, notes: &mut Vec<String>) -> Result<Option<Authentication>, FieldError> {
    auth.allow(&["type", "secretRef", "headerName"])?;
    let type_ = match auth.required_str("type")? {
        "none" => return Ok(None),
        "bearer" => AuthType::Bearer,
        "basic" => AuthType::Basic,
        "apiKey" => AuthType::ApiKey,
        // stoa's oauth2 reads a ready access token from the Secret: a bearer token to toolkit,
        // whose oauth2 runs the client-credentials flow itself.
        "oauth2" => {
            notes.push(
                "spec.authentication: stoa `oauth2` sends the access token stored in the Secret; \
                 imported as `bearer`"
                    .into(),
            );
            AuthType::Bearer
        }
        other => {
            return Err(FieldError::new(
                auth.at("type"),
                format!("unknown authentication type `{other}`; stoa defines none, bearer, basic, apiKey and oauth2"),
            ));
        }
    };
    let secret_ref = auth
        .map("secretRef")?
        .map(|s| {
            s.allow(&["name", "key", "namespace"])?;
            Ok::<_, FieldError>(SecretKeySelector {
                name: s.required_str("name")?.to_owned(),
                key: s.required_str("key")?.to_owned(),
                namespace: s.string("namespace")?,
            })
        })
        .transpose()?;
    Ok(Some(Authentication { type_, secret_ref, header_name: auth.string("headerName")?, ..Authentication::default() }))
}

/// `rateLimit: "100/min"` or `rateLimit: {requestsPerMinute, burst}`.
fn rate_limit(spec: &Fields<'_>, notes: &mut Vec<String>) -> Result<Option<RateLimit>, FieldError> {
    let path = spec.at("rateLimit");
    match spec.get("rateLimit") {
        None => Ok(None),
        Some(Yaml::String(expr)) => {
            let (per_minute, exact) = per_minute(expr).ok_or_else(|| {
                FieldError::new(&path, format!("`{expr}` is not a rate; write e.g. `100/min` or `1000/hour`"))
            })?;
            if !exact {
                notes.push(format!(
                    "spec.rateLimit `{expr}` became {per_minute} per minute (toolkit limits calls per minute)"
                ));
            }
            Ok(Some(RateLimit { requests_per_minute: per_minute, burst: None }))
        }
        Some(value) => {
            let limit = Fields::new(value, path)?;
            limit.allow(&["requestsPerMinute", "burst"])?;
            let requests_per_minute = limit
                .u32("requestsPerMinute")?
                .ok_or_else(|| FieldError::new(limit.at("requestsPerMinute"), "is required"))?;
            Ok(Some(RateLimit { requests_per_minute, burst: limit.u32("burst")? }))
        }
    }
}

/// Requests per minute of `N/unit`, rounded up, and whether that is exact.
fn per_minute(expr: &str) -> Option<(u32, bool)> {
    let (count, unit) = expr.split_once('/')?;
    let count: u64 = count.trim().parse().ok()?;
    let seconds: u64 = match unit.trim() {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hr" | "hour" => 3_600,
        "d" | "day" => 86_400,
        _ => return None,
    };
    let scaled = count.checked_mul(60)?;
    let per_minute = u32::try_from(scaled.div_ceil(seconds)).ok()?;
    Some((per_minute, scaled % seconds == 0))
}

/// stoa's `{readOnly, destructive, idempotent, openWorld}` are the MCP hints.
fn annotations(a: &Fields<'_>) -> Result<ToolAnnotations, FieldError> {
    a.allow(&["readOnly", "destructive", "idempotent", "openWorld"])?;
    Ok(ToolAnnotations {
        title: None,
        read_only_hint: a.bool("readOnly")?,
        destructive_hint: a.bool("destructive")?,
        idempotent_hint: a.bool("idempotent")?,
        open_world_hint: a.bool("openWorld")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::duration::Duration;
    use toolkit_core::manifest::parse;
    use toolkit_core::model::Tool;

    fn tool(spec: &str) -> (Tool, Vec<String>) {
        let v: Yaml = serde_yaml::from_str(&format!(
            "apiVersion: gostoa.dev/v1alpha1\nkind: Tool\nmetadata: {{name: t, namespace: ns}}\nspec:\n{spec}"
        ))
        .unwrap();
        let out = convert(&v).unwrap();
        (parse(out.documents[0].clone()).unwrap(), out.notes)
    }

    #[test]
    fn shipped_crd_shape() {
        let (t, notes) = tool(
            "  displayName: W\n  description: d\n  endpoint: https://h/x\n  method: GET\n  inputSchema: {type: object}\n\
             \x20 auth: bearer\n  rateLimit: 100/min\n  annotations: {readOnly: true, openWorld: false}\n",
        );
        assert_eq!(t.metadata.namespace.as_deref(), Some("ns"));
        let http = &t.spec.blocks["http"];
        assert_eq!((&http["url"], &http["method"]), (&"https://h/x".into(), &"GET".into()));
        assert_eq!(t.spec.rate_limit, Some(RateLimit { requests_per_minute: 100, burst: None }));
        let a = t.spec.annotations.unwrap();
        assert_eq!((a.read_only_hint, a.open_world_hint, a.destructive_hint), (Some(true), Some(false), None));
        assert!(!t.spec.blocks.contains_key("authentication"));
        assert!(notes[0].starts_with("spec.auth `bearer` names no credential"), "{notes:?}");
    }

    #[test]
    fn documented_shape() {
        let (t, notes) = tool(
            "  displayName: P\n  description: d\n  endpoint: https://h/p\n  version: 2.0\n  tags: [a]\n\
             \x20 authentication: {type: bearer, secretRef: {name: tok, key: token}}\n\
             \x20 rateLimit: {requestsPerMinute: 100, burst: 20}\n  timeout: 30s\n  enabled: false\n  apiRef: {name: x}\n",
        );
        assert_eq!(t.spec.blocks["http"]["method"], "POST");
        assert_eq!(t.spec.version.as_deref(), Some("2.0"));
        assert_eq!(t.spec.timeout, Some(Duration::from_secs(30)));
        assert!(!t.spec.enabled);
        assert_eq!(t.spec.rate_limit.unwrap().burst, Some(20));
        let auth = &t.spec.blocks["authentication"];
        assert_eq!((&auth["type"], &auth["secretRef"]["name"]), (&"bearer".into(), &"tok".into()));
        assert!(notes[0].starts_with("spec.apiRef"), "{notes:?}");
    }

    #[test]
    fn rates() {
        assert_eq!(per_minute("100/min"), Some((100, true)));
        assert_eq!(per_minute("2/s"), Some((120, true)));
        assert_eq!(per_minute("1000/hour"), Some((17, false)));
        assert_eq!(per_minute("120/hour"), Some((2, true)));
        assert_eq!(per_minute("lots"), None);
        assert_eq!(per_minute("5/fortnight"), None);
    }

    #[test]
    fn refusals_name_the_field() {
        let v: Yaml = serde_yaml::from_str(
            "apiVersion: gostoa.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\nspec: {description: d}\n",
        )
        .unwrap();
        assert_eq!(convert(&v).unwrap_err().path, "spec.endpoint");
        let v: Yaml = serde_yaml::from_str(
            "apiVersion: gostoa.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\nspec: {endpoint: 'http://h', rateLimit: fast}\n",
        )
        .unwrap();
        assert_eq!(convert(&v).unwrap_err().path, "spec.rateLimit");
        let v: Yaml = serde_yaml::from_str(
            "apiVersion: gostoa.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\nspec: {endpoint: 'http://h', retries: 3}\n",
        )
        .unwrap();
        assert_eq!(convert(&v).unwrap_err().path, "spec.retries");
    }
}
