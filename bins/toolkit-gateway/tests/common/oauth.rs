//! A stand-in OpenID provider (`TOOLKIT_TEST_OAUTH_PROVIDER`, a node script `.ci/services.sh`
//! names) that signs the access tokens a test asks for.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The provider, killed when dropped.
pub struct Provider {
    child: Child,
    pub issuer: String,
    pub control: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    pub fn start() -> Option<Self> {
        let script = toolkit_testkit::service("TOOLKIT_TEST_OAUTH_PROVIDER")?;
        let mut child = Command::new("node")
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OpenID provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
        Some(Self {
            child,
            issuer: started["issuer"].as_str().unwrap().to_owned(),
            control: started["control"].as_str().unwrap().to_owned(),
        })
    }

    pub fn post(&self, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.control);
        let out = Command::new("curl").args(["-sf", "-XPOST", &url, "-d", &body.to_string()]).output().unwrap();
        assert!(out.status.success(), "POST {url}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A token the provider signs, with `claims` merged in (null removes one).
    pub fn token(&self, claims: Value) -> String {
        self.post("/token", &json!({"claims": claims}))["token"].as_str().unwrap().to_owned()
    }
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
