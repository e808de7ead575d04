//! Sessions: the env `mongosh` needs, and calls run through the tool's client.

use async_trait::async_trait;
use serde_json::{Map, Value};
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::MongoTool;
use crate::config::{MongoConfig, Target};

/// A live session: the tool's client, and the connection string with the password for a
/// native client (`MONGODB_URI`, a secret when it holds the password).
pub(crate) struct MongoSession {
    pub(crate) tool: MongoTool,
    pub(crate) uri: String,
    pub(crate) uri_with_password: Option<SecretString>,
}

#[async_trait]
impl Session for MongoSession {
    fn env(&self) -> Vec<EnvEntry> {
        match &self.uri_with_password {
            Some(secret) => vec![EnvEntry::secret("MONGODB_URI", secret.clone())],
            None => vec![EnvEntry::plain("MONGODB_URI", self.uri.clone())],
        }
    }

    fn client(&self) -> Option<Vec<String>> {
        // mongosh takes the connection string only as an argument; the shell reads it from the
        // environment so that it never stands in the argv toolkit builds.
        Some(vec!["sh".into(), "-c".into(), "exec mongosh \"$MONGODB_URI\"".into()])
    }

    /// Runs one call given as the JSON object of a tool call's arguments, e.g.
    /// `{"operation": "find", "collection": "orders", "filter": {"status": "open"}}`.
    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let text = command.join(" ");
        let args: Map<String, Value> = serde_json::from_str(&text).map_err(|e| {
            Error::invalid_input(
                "read the command: it must be a JSON object of call arguments, such as \
                 {\"operation\": \"find\", \"collection\": \"c\"}",
            )
            .with_source(e)
        })?;
        let result = self.tool.run(&args, limits).await;
        self.tool.conn.checked(result).await
    }
}

/// The image of a bastion pod: it has `mongosh`.
pub(crate) const IMAGE: &str = "docker.io/library/mongo:8";

/// A bastion pod's session: `mongosh` on the connection string without its password
/// (`MONGODB_URI`, a plain value), the password from its Secret (`MONGODB_PASSWORD`). mongosh
/// takes a password only as an argument, so a fixed shell script passes `"$MONGODB_PASSWORD"`
/// and the value never stands in the pod spec; `tool exec` runs the command through `--eval`.
/// A CA file is a path on this machine, so a pod does not get it (the image's CAs apply).
pub(crate) fn template(config: &MongoConfig) -> toolkit_core::SessionTemplate {
    use toolkit_core::EnvTemplate;
    let without_ca = MongoConfig { ca_file: None, ..config.clone() };
    let mut env = vec![EnvTemplate::value("MONGODB_URI", client_uri(&without_ca, None))];
    let password = match &config.password_ref {
        Some(p) => {
            env.push(EnvTemplate::secret("MONGODB_PASSWORD", p));
            " --password \"$MONGODB_PASSWORD\""
        }
        None => "",
    };
    let shell = |script: String| vec!["sh".to_owned(), "-c".to_owned(), script, "mongosh".to_owned()];
    toolkit_core::SessionTemplate {
        image: IMAGE.to_owned(),
        client: shell(format!("exec mongosh \"$MONGODB_URI\"{password}")),
        env,
        exec: toolkit_core::ExecForm {
            prefix: shell(format!("exec mongosh \"$MONGODB_URI\"{password} --quiet --eval \"$1\"")),
            joined: true,
        },
        service_account: None,
        namespace: None,
    }
}

/// What a userinfo part of a connection string may hold as is (RFC 3986 unreserved).
const USERINFO: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, USERINFO).to_string()
}

/// The connection string a native client uses: the configured one (or one made of `hostname`,
/// `port` and the user), with the password when there is one, and the TLS settings.
pub(crate) fn client_uri(c: &MongoConfig, password: Option<&str>) -> String {
    let userinfo = c.username.as_deref().map(|u| match password {
        Some(p) => format!("{}:{}@", enc(u), enc(p)),
        None => format!("{}@", enc(u)),
    });
    let mut uri = match &c.target {
        Target::Host { .. } => {
            let mut params = Vec::new();
            if c.username.is_some() {
                params.push(format!("authSource={}", enc(&c.auth_source)));
            }
            let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
            format!(
                "mongodb://{}{}/{}{query}",
                userinfo.unwrap_or_default(),
                c.display_target(),
                c.database.as_deref().unwrap_or_default()
            )
        }
        Target::Uri(u) => {
            let (scheme, rest) = u.split_once("://").unwrap_or(("mongodb", u));
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            // The user, if the string has one, is replaced by the same user, encoded the same way.
            let hosts_start = rest[..authority_end].rfind('@').map_or(0, |i| i + 1);
            format!("{scheme}://{}{}", userinfo.unwrap_or_default(), &rest[hosts_start..])
        }
    };
    let mut extra = Vec::new();
    if c.tls && !uri.contains("tls=") && !uri.contains("ssl=") {
        extra.push("tls=true".to_owned());
    }
    if let Some(ca) = &c.ca_file {
        extra.push(format!("tlsCAFile={}", enc(ca)));
    }
    if c.insecure_skip_tls_verify {
        extra.push("tlsInsecure=true".to_owned());
    }
    if !extra.is_empty() {
        if !uri.contains('?') {
            // A query needs the path slash before it: `host:port/?tls=true`.
            let after_scheme = uri.find("://").map_or(0, |i| i + 3);
            if !uri[after_scheme..].contains('/') {
                uri.push('/');
            }
            uri.push('?');
        } else if !uri.ends_with('?') && !uri.ends_with('&') {
            uri.push('&');
        }
        uri.push_str(&extra.join("&"));
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::ToolSpec;

    fn config(c: serde_json::Value) -> MongoConfig {
        let spec = ToolSpec { type_: "mongodb".into(), config: Some(c), ..ToolSpec::default() };
        MongoConfig::from_spec(&spec).unwrap()
    }

    #[test]
    fn builds_client_uris() {
        let c = config(serde_json::json!({"hostname": "db", "port": 27018, "username": "a@b", "databaseName": "shop"}));
        assert_eq!(client_uri(&c, Some("p:w/d")), "mongodb://a%40b:p%3Aw%2Fd@db:27018/shop?authSource=admin");
        assert_eq!(client_uri(&c, None), "mongodb://a%40b@db:27018/shop?authSource=admin");
        let c =
            config(serde_json::json!({"uri": "mongodb://app@h1,h2/x?replicaSet=rs", "tls": true, "caFile": "/ca.pem"}));
        assert_eq!(client_uri(&c, Some("pw")), "mongodb://app:pw@h1,h2/x?replicaSet=rs&tls=true&tlsCAFile=%2Fca.pem");
        let c = config(serde_json::json!({"uri": "mongodb://h1", "username": "u"}));
        assert_eq!(client_uri(&c, Some("pw")), "mongodb://u:pw@h1");
        let c = config(serde_json::json!({"hostname": "h", "tls": true}));
        assert_eq!(client_uri(&c, None), "mongodb://h:27017/?tls=true");
    }

    #[test]
    fn a_pod_session_names_the_password_by_its_secret_key() {
        use toolkit_core::{EnvSource, EnvTemplate};
        let c = config(serde_json::json!({
            "hostname": "db", "username": "app", "databaseName": "shop", "tls": true, "caFile": "/ca.pem",
            "credentialsRef": {"name": "shop-db", "key": "password"}
        }));
        let t = template(&c);
        assert_eq!(t.image, "docker.io/library/mongo:8");
        let uri = "mongodb://app@db:27017/shop?authSource=admin&tls=true";
        assert_eq!(
            t.env,
            vec![
                EnvTemplate::value("MONGODB_URI", uri),
                EnvTemplate {
                    name: "MONGODB_PASSWORD".into(),
                    source: EnvSource::Secret(toolkit_core::model::SecretKeySelector {
                        name: "shop-db".into(),
                        key: "password".into(),
                        namespace: None
                    })
                },
            ]
        );
        assert_eq!(t.client, ["sh", "-c", "exec mongosh \"$MONGODB_URI\" --password \"$MONGODB_PASSWORD\"", "mongosh"]);
        let argv = t.exec.argv(&["db.orders.countDocuments({})".into()]);
        assert_eq!(
            argv,
            [
                "sh",
                "-c",
                "exec mongosh \"$MONGODB_URI\" --password \"$MONGODB_PASSWORD\" --quiet --eval \"$1\"",
                "mongosh",
                "db.orders.countDocuments({})"
            ]
        );
        // The CA file is a local path: the pod does not get it.
        assert!(t.env.iter().all(|e| !matches!(&e.source, EnvSource::Value(v) if v.contains("ca.pem"))));

        let t = template(&config(serde_json::json!({"hostname": "db"})));
        assert_eq!(t.env, vec![EnvTemplate::value("MONGODB_URI", "mongodb://db:27017/")]);
        assert_eq!(t.exec.argv(&["db.stats()".into()])[2], "exec mongosh \"$MONGODB_URI\" --quiet --eval \"$1\"");
    }
}
