//! There is no SQL Server here. These tests run the connector against a fake TDS server that
//! answers the PRELOGIN with a recorded-style response (version 16.0, encryption not supported)
//! and the LOGIN7 with an ERROR token 18456 ("Login failed") and a DONE token, laid out as
//! Microsoft's MS-TDS specification documents them; plus the shared checks that need no server.
//! Queries, value conversion over the wire and TLS are not exercised against a server.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use toolkit_connector_sqlserver::SqlServerConnector;
use toolkit_core::ErrorKind;
use toolkit_core::connector::{CallLimits, Connector, Invocation, ToolInstance};

/// A TDS packet: type, status (0x01 end of message), length, SPID, packet id, window.
fn packet(type_: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![type_, 0x01];
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 1, 0]);
    p.extend_from_slice(payload);
    p
}

/// The PRELOGIN response: VERSION 16.0.4105.0 and ENCRYPTION = ENCRYPT_NOT_SUP.
fn prelogin_response() -> Vec<u8> {
    let mut payload = vec![
        0x00, 0x00, 11, 0x00, 6, // VERSION at 11, 6 bytes
        0x01, 0x00, 17, 0x00, 1,    // ENCRYPTION at 17, 1 byte
        0xff, // terminator
    ];
    payload.extend_from_slice(&[16, 0, 0x10, 0x09, 0, 0]);
    payload.push(0x02);
    packet(0x04, &payload)
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An ERROR token (MS-TDS 2.2.7.10) followed by DONE with the error bit.
fn login_failed(user: &str) -> Vec<u8> {
    let message = format!("Login failed for user '{user}'.");
    let mut body = Vec::new();
    body.extend_from_slice(&18456i32.to_le_bytes());
    body.push(1); // state
    body.push(14); // class
    body.extend_from_slice(&(message.encode_utf16().count() as u16).to_le_bytes());
    body.extend_from_slice(&utf16(&message));
    body.push("sql1".len() as u8);
    body.extend_from_slice(&utf16("sql1"));
    body.push(0); // no procedure
    body.extend_from_slice(&1i32.to_le_bytes()); // line
    let mut payload = vec![0xAA];
    payload.extend_from_slice(&(body.len() as u16).to_le_bytes());
    payload.extend_from_slice(&body);
    payload.push(0xFD);
    payload.extend_from_slice(&0x0002u16.to_le_bytes()); // DONE_ERROR
    payload.extend_from_slice(&0u16.to_le_bytes());
    payload.extend_from_slice(&0u64.to_le_bytes());
    packet(0x04, &payload)
}

/// Reads one message (packets up to the end-of-message bit); returns its type.
async fn read_message(stream: &mut TcpStream) -> Option<u8> {
    loop {
        let mut head = [0u8; 8];
        stream.read_exact(&mut head).await.ok()?;
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        let mut rest = vec![0u8; len.saturating_sub(8)];
        stream.read_exact(&mut rest).await.ok()?;
        if head[1] & 0x01 == 0x01 {
            return Some(head[0]);
        }
    }
}

/// A server that answers PRELOGIN and refuses every login; records the message types it got.
async fn refusing_server() -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                let Some(t) = read_message(&mut stream).await else { return };
                s.lock().unwrap().push(t);
                stream.write_all(&prelogin_response()).await.unwrap();
                let Some(t) = read_message(&mut stream).await else { return };
                s.lock().unwrap().push(t);
                stream.write_all(&login_failed("app")).await.unwrap();
            });
        }
    });
    (port, seen)
}

fn spec(port: u16, extra: Value) -> Value {
    let mut config = json!({
        "hostname": "127.0.0.1", "port": port, "username": "app", "databaseName": "sales",
        "credentialsRef": {"name": "mssql", "key": "password"}, "sslMode": "disable", "connectTimeout": "2s"
    });
    if let Value::Object(more) = extra {
        config.as_object_mut().unwrap().extend(more);
    }
    json!({"type": "sqlserver", "config": config})
}

fn tool(spec: &Value, password: &str) -> Arc<dyn ToolInstance> {
    toolkit_testkit::behaviour::build(
        &SqlServerConnector,
        spec,
        &[("mssql".into(), "password".into(), password.into())],
    )
    .unwrap()
}

#[tokio::test]
async fn a_refused_login_is_an_auth_error_on_one_line() {
    let (port, seen) = refusing_server().await;
    let canary = toolkit_testkit::canary();
    let t = tool(&spec(port, json!({})), &canary);
    let err = t.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    let text = err.to_string();
    assert!(text.contains("18456") && text.contains("Login failed for user 'app'"), "{text}");
    assert!(text.contains(&format!("port: {port}")) && text.contains("user: app"), "{text}");
    assert!(!text.contains('\n') && !format!("{text} {err:?}").contains(&canary), "{text}");
    // PRELOGIN (0x12), then LOGIN7 (0x10).
    assert_eq!(*seen.lock().unwrap(), [0x12, 0x10]);

    // A call fails the same way, before any SQL is sent.
    let arguments = json!({"query": "SELECT 1"}).as_object().unwrap().clone();
    let err = t
        .invoker()
        .unwrap()
        .invoke(Invocation { arguments, limits: CallLimits::default(), subject_token: None })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
}

#[tokio::test]
async fn tls_demanded_from_a_server_without_it_is_unreachable() {
    let (port, _) = refusing_server().await;
    let t = tool(&spec(port, json!({"sslMode": "require"})), "pw");
    let err = t.probe().unwrap().probe().await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unreachable | ErrorKind::Timeout), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");
}

#[tokio::test]
async fn read_only_tools_refuse_writes_before_connecting() {
    // Nothing listens on the port: a refused write never gets as far as connecting.
    let t = tool(&spec(9, json!({})), "pw");
    let mut s = spec(9, json!({}));
    s["readOnly"] = json!(true);
    let ro = tool(&s, "pw");
    for sql in ["DELETE FROM dbo.orders WHERE id = 1", "SELECT 1; DROP TABLE dbo.orders"] {
        let arguments = json!({"query": sql}).as_object().unwrap().clone();
        let err = ro
            .invoker()
            .unwrap()
            .invoke(Invocation { arguments, limits: CallLimits::default(), subject_token: None })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{sql}: {err}");
    }
    let arguments = json!({"query": "DELETE FROM dbo.orders WHERE id = 1"}).as_object().unwrap().clone();
    let err = t
        .invoker()
        .unwrap()
        .invoke(Invocation { arguments, limits: CallLimits::default(), subject_token: None })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "a writable tool tries to connect: {err}");
}

#[tokio::test]
async fn sessions_carry_sqlcmd_env_with_the_password_secret() {
    let canary = toolkit_testkit::canary();
    let mut s = spec(1433, json!({"sslMode": "require"}));
    s["readOnly"] = json!(true);
    let session = tool(&s, &canary).open_session().await.unwrap();
    let env = session.env();
    let get = |name: &str| env.iter().find(|e| e.name == name).unwrap().value.expose().to_owned();
    assert_eq!(get("SQLCMDSERVER"), "127.0.0.1,1433");
    assert_eq!(get("SQLCMDUSER"), "app");
    assert_eq!(get("SQLCMDDBNAME"), "sales");
    assert_eq!(get("SQLCMDPASSWORD"), canary);
    assert!(!format!("{env:?}").contains(&canary));
    assert_eq!(session.client().unwrap(), ["sqlcmd", "-N", "-C", "-K", "ReadOnly"]);
}

#[tokio::test]
async fn permissions_plan_and_validation() {
    let mut s = spec(1433, json!({}));
    s["permissions"] = json!({"rules": [{"privileges": ["SELECT"], "on": "SCHEMA::dbo"}, {"role": "db_datareader"}]});
    let plan = tool(&s, "pw").permissions().unwrap().plan().await.unwrap();
    assert_eq!(plan.principal, "app");
    assert_eq!(
        plan.statements,
        ["GRANT SELECT ON SCHEMA::dbo TO [app]", "ALTER ROLE [db_datareader] ADD MEMBER [app]"]
    );
    assert!(SqlServerConnector.capabilities().read_only);
}

#[tokio::test]
async fn shared_behaviour_suite_without_a_server() {
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &SqlServerConnector,
        spec: spec(1433, json!({})),
        secrets: vec![("mssql".into(), "password".into(), canary.clone())],
        canary,
        password: Some(("mssql".into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: None,
        call: Some(json!({"query": "SELECT name FROM sys.databases"})),
    }
    .run_without_server()
    .await;
}
