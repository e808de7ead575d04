//! Approval notifications: a call that waits for approval is posted to every
//! `--approval-webhook` while it waits; a webhook that hangs or answers 500 delays neither the
//! other webhooks nor the call; the decision is posted too; no webhook URL reaches the log.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{Running, mcp_request};
use common::{Fixture, GUARDED, next_pending};
use serde_json::{Value, json};
use toolkit_state::StateStore;

/// How a receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    Fail,
    Hang,
}

/// A webhook receiver on a free loopback port, keeping each JSON body it gets.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start(answer: Answer, path: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().map_while(Result::ok) {
                let body = read_body(&stream);
                kept.lock().unwrap().push(body);
                match answer {
                    Answer::Ok => respond(stream, "200 OK"),
                    Answer::Fail => respond(stream, "500 Internal Server Error"),
                    Answer::Hang => held.push(stream),
                }
            }
        });
        Self { url, bodies }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits until at least `n` bodies arrived.
    fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let bodies = self.bodies();
            if bodies.len() >= n {
                return bodies;
            }
            assert!(Instant::now() < deadline, "{n} notices expected, got {bodies:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_body(stream: &TcpStream) -> Value {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

fn respond(mut stream: TcpStream, status: &str) {
    let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_and_decisions_are_posted_without_delaying_anything() {
    let fixture = Fixture::new();
    fixture.write("guarded.yaml", GUARDED);
    let good = Receiver::start(Answer::Ok, "/hooks/good");
    let hanging = Receiver::start(Answer::Hang, "/hooks/hang");
    let secret_path = format!("/services/{}", fixture.canary);
    let failing = Receiver::start(Answer::Fail, &secret_path);
    let gateway = Running::start(
        &fixture,
        &[
            "--stateless",
            "--approval-webhook",
            &hanging.url,
            "--approval-webhook",
            &failing.url,
            "--approval-webhook",
            &good.url,
            "--approval-webhook-decisions",
            "--public-url",
            "https://toolkit.example.com/",
        ],
    );
    let addr = gateway.addr;
    let call = std::thread::spawn(move || {
        mcp_request(addr, None, "tools/call", json!({"name": "guarded", "arguments": {"command": "rm -rf /tmp/x"}}))
    });
    let state = StateStore::open(&fixture.state).await.unwrap();
    let pending = next_pending(&state, 0).await;

    // The good webhook hears of it while the hanging one still holds its connection.
    let notice = tokio::task::spawn_blocking({
        let bodies = good.bodies.clone();
        let url = good.url.clone();
        move || Receiver { url, bodies }.wait_for(1)
    })
    .await
    .unwrap()[0]
        .clone();
    let id = pending.id;
    assert_eq!(notice["event"], "approval.requested");
    assert_eq!(notice["id"], id);
    assert_eq!(notice["tool"], pending.tool.to_string());
    assert_eq!(notice["command"], "rm -rf /tmp/x");
    assert_eq!(notice["url"], format!("https://toolkit.example.com/ui/approvals#approval-{id}"));
    let text = notice["text"].as_str().unwrap();
    assert!(text.starts_with(&format!("Approval {id} needed: ")) && text.contains("`rm -rf /tmp/x`"), "{text}");
    assert_eq!(hanging.bodies().len(), 1, "the hanging webhook got the notice too");

    // The call goes on as soon as someone decides.
    state.decide_approval(id, true, "local:alice", None).await.unwrap();
    let answer = tokio::task::spawn_blocking(move || call.join().unwrap()).await.unwrap();
    assert_eq!(answer.json()["result"]["isError"], false, "{}", answer.body);
    let decided = tokio::task::spawn_blocking(move || good.wait_for(2)).await.unwrap();
    assert_eq!(decided[1]["event"], "approval.decided");
    let text = decided[1]["text"].as_str().unwrap();
    let expected = format!("Approval {id} for {} on {} was approved by local:alice.", pending.caller, pending.tool);
    assert!(text.starts_with(&expected), "{text}");

    // The failing webhook was tried again, and its URL is in no log line.
    let tried = tokio::task::spawn_blocking(move || failing.wait_for(3)).await.unwrap();
    assert!(tried.iter().all(|b| b["id"] == id), "{tried:?}");
    let retried = tried.iter().filter(|b| b["event"] == "approval.requested").count();
    assert!(retried >= 2, "the refused notice was sent again: {tried:?}");
    let log = gateway.log();
    assert!(log.contains("approval webhook refused the notice"), "{log}");
    assert!(!log.contains(&fixture.canary), "a webhook URL is in the log");
}
