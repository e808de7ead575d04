//! Agent calls: one command line run through the tool's shared connection.

use async_trait::async_trait;
use redis::Value as Reply;
use redis::aio::ConnectionLike;
use serde_json::Value;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::RedisTool;
use crate::command::{ReadOnlyGuard, argv_from_arguments, check_supported};
use crate::connection::classify;
use crate::reply::to_json;

#[async_trait]
impl Invoker for RedisTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let argv = argv_from_arguments(&call.arguments)?;
        check_supported(&argv, true)?;
        let mut conn = self.conn.manager().await?;
        let result = run(&mut conn, &self.guard, self.read_only, &argv, &call.limits).await;
        self.conn.checked(result).await
    }
}

/// Runs `argv` on `conn` within `limits`, refusing writes when `read_only`.
pub(crate) async fn run<C: ConnectionLike>(
    conn: &mut C,
    guard: &ReadOnlyGuard,
    read_only: bool,
    argv: &[String],
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let Some((name, args)) = argv.split_first() else {
        return Err(Error::invalid_input("run a redis command: the command is empty"));
    };
    let shown = name.to_uppercase();
    let call = async {
        if read_only {
            guard.check(conn, argv).await?;
        }
        let mut cmd = redis::cmd(name);
        for a in args {
            cmd.arg(a);
        }
        cmd.query_async::<Reply>(conn).await.map_err(|e| classify(e, &format!("run redis `{shown}`")))
    };
    let reply = match tokio::time::timeout(limits.timeout, call).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(Error::new(ErrorKind::Timeout, format!("run redis `{shown}`"))
                .with_context("timeout", format!("{:?}", limits.timeout)));
        }
    };
    let converted = to_json(reply, limits.max_output_bytes, limits.max_rows);
    let mut out = InvokeOutput::new(converted.value);
    out.truncated = converted.truncated;
    out.metadata.insert("command".into(), Value::String(shown));
    Ok(out)
}
