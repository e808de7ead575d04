//! Running a local program as argv (no shell) with the tool's env, under a deadline, with its
//! output read up to a cap (the rest is read and dropped so the program is never blocked).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use toolkit_core::connector::EnvEntry;
use toolkit_core::{Error, ErrorKind, Result};

/// What a finished program left.
pub(crate) struct Finished {
    /// The exit code; `None` when a signal ended it.
    pub(crate) code: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) truncated: bool,
}

/// Runs `argv` with `env` added to toolkit's own environment; `Timeout` (and the program
/// killed) when it outlives `timeout`.
pub(crate) async fn run(argv: &[String], env: &[EnvEntry], timeout: Duration, max_bytes: usize) -> Result<Finished> {
    let (program, args) = argv.split_first().ok_or_else(|| Error::invalid_input("run a command: it is empty"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|e| (e.name.as_str(), e.value.expose())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound { ErrorKind::Config } else { ErrorKind::Internal };
        Error::new(kind, format!("start `{program}`")).with_source(e)
    })?;
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Error::internal(format!("start `{program}`: its output is not piped")));
    };
    let work = async {
        let (out, err, status) = tokio::join!(read_capped(out, max_bytes), read_capped(err, max_bytes), child.wait());
        (out, err, status)
    };
    let ((stdout, out_cut), (stderr, err_cut), status) = match tokio::time::timeout(timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            let _ = child.kill().await;
            return Err(Error::new(ErrorKind::Timeout, format!("run `{program}`: it did not finish in time"))
                .with_context("timeout", format!("{timeout:?}")));
        }
    };
    let status = status.map_err(|e| Error::internal(format!("wait for `{program}`")).with_source(e))?;
    let mut finished = Finished { code: status.code(), stdout, stderr, truncated: out_cut || err_cut };
    // One budget for both streams: stdout keeps its share first.
    let room = max_bytes.saturating_sub(finished.stdout.len());
    if finished.stderr.len() > room {
        finished.stderr.truncate(room);
        finished.truncated = true;
    }
    Ok(finished)
}

async fn read_capped(mut pipe: impl AsyncRead + Unpin, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let take = n.min(cap - kept.len());
                kept.extend_from_slice(&buf[..take]);
                cut |= take < n;
            }
        }
    }
    (kept, cut)
}

/// The last `max` characters of `bytes` on one line, with every secret value replaced.
pub(crate) fn tail(bytes: &[u8], max: usize, secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s, toolkit_core::secret::REDACTED);
    }
    let line = toolkit_core::error::one_line(&text);
    let count = line.chars().count();
    if count <= max { line } else { format!("...{}", line.chars().skip(count - max).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_are_one_line_and_redacted() {
        assert_eq!(tail(b"a\nb s3cret\n", 100, &["s3cret"]), "a; b [redacted]");
        assert_eq!(tail(b"0123456789", 4, &[]), "...6789");
    }
}
