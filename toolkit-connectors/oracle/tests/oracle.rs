//! Against fake TNS listeners started by each test. They read the CONNECT the probe sends and
//! answer with ACCEPT, REFUSE, REDIRECT and RESEND packets laid out as Wireshark's TNS dissector
//! documents them (byte for byte as an Oracle listener sends them, as far as that documentation
//! goes). No real Oracle listener is involved.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use toolkit_connector_oracle::OracleConnector;
use toolkit_connector_oracle::tns::{self, packet};
use toolkit_core::ErrorKind;
use toolkit_core::connector::{CallLimits, Connector, ToolInstance};

/// An ACCEPT as a 19c listener's dedicated server sends it to a version-314 client: version 314,
/// service options 0x0801, SDU 8192, TDU 32767, value of one, no accept data, flags 0x41/0x01.
const ACCEPT: [u8; 32] = [
    0x00, 0x20, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, // header: 32 bytes, ACCEPT
    0x01, 0x3a, 0x08, 0x01, 0x20, 0x00, 0x7f, 0xff, // version 314, options, SDU, TDU
    0x01, 0x00, 0x00, 0x00, 0x00, 0x20, 0x41, 0x01, // value of one, data length 0, offset 32, flags
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

fn with_header(type_: u8, body: &[u8]) -> Vec<u8> {
    let len = (8 + body.len()) as u16;
    let mut p = len.to_be_bytes().to_vec();
    p.extend_from_slice(&[0, 0, type_, 0, 0, 0]);
    p.extend_from_slice(body);
    p
}

fn refuse(code: u32) -> Vec<u8> {
    let data = format!("(DESCRIPTION=(TMP=)(VSNNUM=0)(ERR={code})(ERROR_STACK=(ERROR=(CODE={code})(EMFI=4))))");
    let mut body = vec![0x22, 0x00];
    body.extend_from_slice(&(data.len() as u16).to_be_bytes());
    body.extend_from_slice(data.as_bytes());
    with_header(packet::REFUSE, &body)
}

fn redirect(port: u16, connect_data: &str) -> Vec<u8> {
    let data = format!("(ADDRESS=(PROTOCOL=tcp)(HOST=127.0.0.1)(PORT={port}))\0{connect_data}");
    let mut body = (data.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(data.as_bytes());
    with_header(packet::REDIRECT, &body)
}

fn resend() -> Vec<u8> {
    with_header(packet::RESEND, &[])
}

/// Reads one CONNECT (and its DATA packet when the connect data did not fit) and returns the
/// connect data.
async fn read_connect(stream: &mut TcpStream, seen: &Mutex<Vec<Vec<u8>>>) -> Option<String> {
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).await.ok()?;
    let len = u16::from_be_bytes([head[0], head[1]]) as usize;
    let mut bytes = head.to_vec();
    bytes.resize(len, 0);
    stream.read_exact(&mut bytes[8..]).await.ok()?;
    assert_eq!(bytes[4], packet::CONNECT);
    let data_len = u16::from_be_bytes([bytes[24], bytes[25]]) as usize;
    let offset = u16::from_be_bytes([bytes[26], bytes[27]]) as usize;
    let data = if bytes.len() >= offset + data_len {
        String::from_utf8_lossy(&bytes[offset..offset + data_len]).into_owned()
    } else {
        let mut h = [0u8; 8];
        stream.read_exact(&mut h).await.ok()?;
        let mut rest = vec![0u8; u16::from_be_bytes([h[0], h[1]]) as usize - 8];
        stream.read_exact(&mut rest).await.ok()?;
        String::from_utf8_lossy(&rest[2..]).into_owned()
    };
    seen.lock().unwrap().push(bytes);
    Some(data)
}

/// A listener that answers each connection with `answers` in turn (after each CONNECT it reads),
/// recording the CONNECT packets.
async fn listener(answers: Vec<Vec<u8>>) -> (u16, Arc<Mutex<Vec<Vec<u8>>>>, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let data: Arc<Mutex<Vec<String>>> = Arc::default();
    let (s, d) = (seen.clone(), data.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = l.accept().await {
            for answer in &answers {
                let Some(connect_data) = read_connect(&mut stream, &s).await else { break };
                d.lock().unwrap().push(connect_data);
                stream.write_all(answer).await.unwrap();
                if answer[4] != packet::RESEND {
                    break;
                }
            }
        }
    });
    (port, seen, data)
}

fn spec(port: u16, extra: Value) -> Value {
    let mut spec = json!({
        "type": "oracle",
        "config": {
            "hostname": "127.0.0.1", "port": port, "databaseName": "ORCLPDB1", "username": "TOOLKIT_READER",
            "credentialsRef": {"name": "ora", "key": "password"}, "connectTimeout": "2s"
        }
    });
    if let Value::Object(more) = extra {
        for (k, v) in more {
            spec[&k] = v;
        }
    }
    spec
}

fn tool(spec: &Value, password: &str) -> Arc<dyn ToolInstance> {
    toolkit_testkit::behaviour::build(&OracleConnector, spec, &[("ora".into(), "password".into(), password.into())])
        .unwrap()
}

#[tokio::test]
async fn accept_reports_the_tns_version_and_the_connect_is_well_formed() {
    let (port, seen, data) = listener(vec![ACCEPT.to_vec()]).await;
    let report = tool(&spec(port, json!({})), "pw").probe().unwrap().probe().await.unwrap();
    assert_eq!(report.details["tnsVersion"], "314");
    assert_eq!(report.details["listener"], format!("127.0.0.1:{port}"));

    let connect = seen.lock().unwrap()[0].clone();
    assert_eq!(u16::from_be_bytes([connect[0], connect[1]]) as usize, connect.len());
    assert_eq!(u16::from_be_bytes([connect[8], connect[9]]), 314);
    assert_eq!(u16::from_be_bytes([connect[10], connect[11]]), 300);
    assert_eq!(u16::from_be_bytes([connect[26], connect[27]]), 58);
    let data = data.lock().unwrap()[0].clone();
    assert!(data.contains("(SERVICE_NAME=ORCLPDB1)") && data.contains("(CID=(PROGRAM=toolkit)"), "{data}");
    assert!(data.contains(&format!("(HOST=127.0.0.1)(PORT={port})")), "{data}");
}

#[tokio::test]
async fn refusals_are_classified_by_their_ora_code() {
    let (port, _, _) = listener(vec![refuse(12514)]).await;
    let err = tool(&spec(port, json!({})), "pw").probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let text = err.to_string();
    assert!(text.contains("ORA-12514") && text.contains("service: ORCLPDB1") && !text.contains('\n'), "{text}");

    let (port, _, _) = listener(vec![refuse(12519)]).await;
    let err = tool(&spec(port, json!({})), "pw").probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_redirect_is_followed_once_with_its_connect_data() {
    let (target, _, target_data) = listener(vec![ACCEPT.to_vec()]).await;
    let new_data = "(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=ORCLPDB1)(INSTANCE_NAME=orcl2)))";
    let (port, _, _) = listener(vec![redirect(target, new_data)]).await;
    let report = tool(&spec(port, json!({})), "pw").probe().unwrap().probe().await.unwrap();
    assert_eq!(report.details["listener"], format!("127.0.0.1:{target}"));
    assert_eq!(target_data.lock().unwrap()[0], new_data);

    // A redirect to a listener that redirects again is not followed.
    let (loop_port, _, _) = listener(vec![redirect(port, new_data)]).await;
    let err = tool(&spec(loop_port, json!({})), "pw").probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
}

#[tokio::test]
async fn a_resend_is_answered_once() {
    let (port, seen, _) = listener(vec![resend(), ACCEPT.to_vec()]).await;
    tool(&spec(port, json!({})), "pw").probe().unwrap().probe().await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (port, _, _) = listener(vec![resend(), resend(), ACCEPT.to_vec()]).await;
    let err = tool(&spec(port, json!({})), "pw").probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
}

#[tokio::test]
async fn long_connect_data_travels_in_a_data_packet() {
    let service = format!("S{}", "x".repeat(200));
    let (port, _, data) = listener(vec![ACCEPT.to_vec()]).await;
    let mut s = spec(port, json!({}));
    s["config"]["databaseName"] = json!(service);
    tool(&s, "pw").probe().unwrap().probe().await.unwrap();
    assert!(data.lock().unwrap()[0].contains(&service));
    assert!(tns::connect_packets(&data.lock().unwrap()[0]).len() == 2);
}

#[tokio::test]
async fn sessions_hold_the_password_as_a_secret_and_generate_tnsnames() {
    let canary = toolkit_testkit::canary();
    let t = tool(&spec(1521, json!({})), &canary);
    assert!(t.invoker().is_none(), "no driver: no invoke");
    let session = t.open_session().await.unwrap();
    let env = session.env();
    let get = |name: &str| env.iter().find(|e| e.name == name).unwrap().value.expose().to_owned();
    assert_eq!(get("ORACLE_PASSWORD"), canary);
    assert_eq!(get("ORACLE_USER"), "TOOLKIT_READER");
    assert_eq!(get("TWO_TASK"), "TOOLKIT");
    let dir = std::path::PathBuf::from(get("TNS_ADMIN"));
    let tnsnames = std::fs::read_to_string(dir.join("tnsnames.ora")).unwrap();
    assert!(tnsnames.starts_with("TOOLKIT =") && tnsnames.contains("(SERVICE_NAME = ORCLPDB1)"), "{tnsnames}");
    assert!(!tnsnames.contains(&canary));
    assert!(!format!("{env:?}").contains(&canary));
    let argv = session.client().unwrap();
    assert_eq!(argv, ["sqlplus", "-L", "TOOLKIT_READER@TOOLKIT"]);
    let err = session.exec(&["SELECT 1 FROM dual".into()], &CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    session.close().await;
    assert!(!dir.exists());
}

#[tokio::test]
async fn permissions_plan_grants_to_the_user() {
    let t = tool(
        &spec(
            1521,
            json!({"permissions": {"rules": [{"privileges": ["create session"]}, {"privileges": ["SELECT"], "on": "HR.EMPLOYEES"}]}}),
        ),
        "pw",
    );
    let plan = t.permissions().unwrap().plan().await.unwrap();
    assert_eq!(plan.principal, "TOOLKIT_READER");
    assert_eq!(
        plan.statements,
        ["GRANT CREATE SESSION TO TOOLKIT_READER", "GRANT SELECT ON HR.EMPLOYEES TO TOOLKIT_READER"]
    );
    let bad: toolkit_core::ToolSpec = serde_json::from_value(spec(
        1521,
        json!({"permissions": {"mode": "enforce", "rules": [{"privileges": ["SELECT"], "on": "HR.X; DROP USER SYS"}]}}),
    ))
    .unwrap();
    let paths: Vec<_> = OracleConnector.validate(&bad).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["spec.permissions.mode", "spec.permissions.rules[0].on"]);
}

#[tokio::test]
async fn shared_behaviour_suite_without_a_server() {
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &OracleConnector,
        spec: spec(1521, json!({})),
        secrets: vec![("ora".into(), "password".into(), canary.clone())],
        canary,
        password: None,
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: None,
        call: None,
    }
    .run_without_server()
    .await;
}

#[tokio::test]
async fn tcps_demanded_from_a_plain_listener_is_unreachable() {
    let (port, _, _) = listener(vec![ACCEPT.to_vec()]).await;
    let mut s = spec(port, json!({}));
    s["config"]["tls"] = json!(true);
    s["config"]["connectTimeout"] = json!("1s");
    // A listener reads the ClientHello's first bytes as a TNS length and waits for the rest.
    let err = tool(&s, "pw").probe().unwrap().probe().await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unreachable | ErrorKind::Timeout), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");

    s["config"]["insecureSkipTlsVerify"] = json!(true);
    let session = tool(&s, "pw").open_session().await.unwrap();
    let dir = session.env().iter().find(|e| e.name == "TNS_ADMIN").unwrap().value.expose().to_owned();
    let tnsnames = std::fs::read_to_string(std::path::Path::new(&dir).join("tnsnames.ora")).unwrap();
    assert!(tnsnames.contains("(PROTOCOL = TCPS)"), "{tnsnames}");

    let plain: toolkit_core::ToolSpec = serde_json::from_value(spec(port, json!({}))).unwrap();
    let mut with_ca = plain.clone();
    with_ca.config.as_mut().unwrap()["caFile"] = "/ca.pem".into();
    let paths: Vec<_> = OracleConnector.validate(&with_ca).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["spec.config.caFile"]);
}
