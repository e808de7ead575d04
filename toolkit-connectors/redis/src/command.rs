//! What a command line is, and whether it only reads: argv from the call arguments, and
//! `readOnly` decided from the server's own `COMMAND INFO` flags, cached per command name.

use std::collections::HashMap;
use std::sync::Mutex;

use redis::Value as Reply;
use redis::aio::ConnectionLike;
use serde_json::{Map, Value};
use toolkit_core::{Error, ErrorKind, Result};

use crate::connection::classify;

/// Commands that change the state of a connection shared by concurrent calls.
const CONNECTION_STATE: &[&str] =
    &["select", "auth", "hello", "quit", "reset", "multi", "exec", "discard", "watch", "unwatch"];

/// Commands that block their connection until data arrives, stalling every other call on a
/// shared one. `XREAD` and `XREADGROUP` block only with a `BLOCK` option.
const BLOCKING: &[&str] =
    &["blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait", "waitaof"];

/// Commands that turn a connection into a stream of pushes, which no call result can hold.
const STREAMING: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "monitor",
    "sync",
    "psync",
];

/// Flags and ACL categories of commands that are not read-only even without the `write` flag
/// (`CONFIG SET` is `admin`, `EVAL` is `@scripting`).
const NOT_READ_FLAGS: &[&str] = &["write", "admin", "noscript", "pubsub"];
const NOT_READ_CATEGORIES: &[&str] =
    &["@write", "@admin", "@dangerous", "@scripting", "@pubsub", "@transaction", "@blocking"];

/// Commands that only read the server's state though Redis files them under `@dangerous`
/// (`INFO` reports, `LASTSAVE` is a timestamp): read-only all the same.
const READS_DESPITE_CATEGORIES: &[&str] = &["info", "lastsave"];

/// The command line of a call: `{command: ["GET", "k"]}` or `{command: "GET k"}`.
pub(crate) fn argv_from_arguments(args: &Map<String, Value>) -> Result<Vec<String>> {
    let argv = match args.get("command") {
        None | Some(Value::Null) => {
            return Err(Error::invalid_input("run a redis command: missing argument `command`"));
        }
        Some(Value::String(line)) => {
            shell_words::split(line).map_err(|e| Error::invalid_input("split the redis command line").with_source(e))?
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(Error::invalid_input(format!("read `command[{i}]`: use a string"))),
            })
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(Error::invalid_input("read `command`: use an array of strings or one string")),
    };
    check_argv(&argv)?;
    Ok(argv)
}

/// Refuses an empty command line.
pub(crate) fn check_argv(argv: &[String]) -> Result<()> {
    match argv.first() {
        Some(name) if !name.trim().is_empty() => Ok(()),
        _ => Err(Error::invalid_input("run a redis command: the command is empty")),
    }
}

/// Refuses commands the connection cannot carry: streams always, connection state when the
/// connection is shared between calls.
pub(crate) fn check_supported(argv: &[String], shared: bool) -> Result<()> {
    let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
    if STREAMING.contains(&name.as_str()) {
        return Err(Error::unsupported(format!(
            "run `{}`: it streams pushes, which a call cannot return",
            name.to_uppercase()
        )));
    }
    if shared && CONNECTION_STATE.contains(&name.as_str()) {
        return Err(Error::unsupported(format!(
            "run `{}`: it changes connection state, and tool calls share one connection; use a session",
            name.to_uppercase()
        )));
    }
    let blocks = BLOCKING.contains(&name.as_str())
        || (matches!(name.as_str(), "xread" | "xreadgroup") && argv.iter().any(|a| a.eq_ignore_ascii_case("block")));
    if shared && blocks {
        return Err(Error::unsupported(format!(
            "run `{}`: it blocks, and tool calls share one connection; use a session",
            name.to_uppercase()
        )));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    ReadOnly,
    Writes,
    /// Has subcommands (`CONFIG`, `CLIENT`); the subcommand decides.
    Container,
}

/// Read-only classification of commands, learned from the server once per command name.
#[derive(Debug, Default)]
pub(crate) struct ReadOnlyGuard {
    cache: Mutex<HashMap<String, Class>>,
}

impl ReadOnlyGuard {
    /// Refuses `argv` unless the server says it only reads.
    pub(crate) async fn check<C: ConnectionLike>(&self, conn: &mut C, argv: &[String]) -> Result<()> {
        let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
        let mut key = name.clone();
        if self.class(conn, &key).await? == Class::Container {
            let Some(sub) = argv.get(1) else {
                return Err(Error::invalid_input(format!("run `{}`: name a subcommand", name.to_uppercase())));
            };
            key = format!("{name}|{}", sub.to_ascii_lowercase());
        }
        match self.class(conn, &key).await? {
            Class::ReadOnly => Ok(()),
            Class::Writes | Class::Container => Err(Error::new(
                ErrorKind::Denied,
                format!(
                    "run `{}`: the tool is read-only and the server does not flag it read-only",
                    key.replace('|', " ").to_uppercase()
                ),
            )),
        }
    }

    async fn class<C: ConnectionLike>(&self, conn: &mut C, key: &str) -> Result<Class> {
        if let Some(c) = self.lock().get(key) {
            return Ok(*c);
        }
        let reply: Reply = redis::cmd("COMMAND")
            .arg("INFO")
            .arg(key)
            .query_async(conn)
            .await
            .map_err(|e| classify(e, "learn whether the command is read-only (COMMAND INFO)"))?;
        let entry = match reply {
            Reply::Array(mut entries) if !entries.is_empty() => entries.swap_remove(0),
            _ => Reply::Nil,
        };
        let Some(class) = class_of(&entry) else {
            let shown = key.replace('|', " ").to_uppercase();
            return Err(Error::invalid_input(format!("run `{shown}`: the server does not know this command")));
        };
        self.lock().insert(key.to_owned(), class);
        Ok(class)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Class>> {
        // The map stays consistent even if a holder panicked: inserts are single operations.
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The class of one `COMMAND INFO` entry; `None` for an unknown command.
fn class_of(entry: &Reply) -> Option<Class> {
    let Reply::Array(fields) = entry else { return None };
    let flags = fields.get(2).map(strings).unwrap_or_default();
    let categories = fields.get(6).map(strings).unwrap_or_default();
    let has_subcommands = matches!(fields.get(9), Some(Reply::Array(s)) if !s.is_empty());
    let has = |set: &[String], names: &[&str]| set.iter().any(|s| names.contains(&s.to_ascii_lowercase().as_str()));
    let name = fields.first().map(|n| strings(&Reply::Array(vec![n.clone()]))).unwrap_or_default();
    Some(if has_subcommands {
        Class::Container
    } else if has(&flags, &["write"]) {
        Class::Writes
    } else if has(&flags, &["readonly"]) || has(&name, READS_DESPITE_CATEGORIES) {
        Class::ReadOnly
    } else if has(&flags, NOT_READ_FLAGS) || has(&categories, NOT_READ_CATEGORIES) {
        Class::Writes
    } else {
        Class::ReadOnly
    })
}

fn strings(reply: &Reply) -> Vec<String> {
    let items = match reply {
        Reply::Array(items) | Reply::Set(items) => items.as_slice(),
        _ => &[],
    };
    items
        .iter()
        .filter_map(|v| match v {
            Reply::SimpleString(s) => Some(s.clone()),
            Reply::BulkString(b) => String::from_utf8(b.clone()).ok(),
            Reply::Okay => Some("OK".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(flags: &[&str], categories: &[&str]) -> Reply {
        let set = |v: &[&str]| Reply::Set(v.iter().map(|s| Reply::SimpleString((*s).into())).collect());
        Reply::Array(vec![
            Reply::BulkString(b"x".to_vec()),
            Reply::Int(2),
            set(flags),
            Reply::Int(1),
            Reply::Int(1),
            Reply::Int(1),
            set(categories),
            Reply::Array(vec![]),
            Reply::Array(vec![]),
            Reply::Array(vec![]),
        ])
    }

    #[test]
    fn classifies_by_server_flags() {
        assert_eq!(class_of(&entry(&["readonly", "fast"], &["@read"])), Some(Class::ReadOnly));
        assert_eq!(class_of(&entry(&["write"], &["@write"])), Some(Class::Writes));
        assert_eq!(class_of(&entry(&["fast"], &["@fast", "@connection"])), Some(Class::ReadOnly));
        assert_eq!(class_of(&entry(&["admin", "noscript"], &["@admin"])), Some(Class::Writes));
        assert_eq!(class_of(&entry(&["noscript"], &["@slow", "@scripting"])), Some(Class::Writes));
        assert_eq!(class_of(&Reply::Nil), None);
    }

    #[test]
    fn reads_argv_in_both_forms() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(argv_from_arguments(&args(json!({"command": ["SET", "k", 1]}))).unwrap(), ["SET", "k", "1"]);
        assert_eq!(argv_from_arguments(&args(json!({"command": "SET k 'a b'"}))).unwrap(), ["SET", "k", "a b"]);
        for bad in [
            json!({}),
            json!({"command": ""}),
            json!({"command": []}),
            json!({"command": "GET 'x"}),
            json!({"command": [{}]}),
        ] {
            assert_eq!(argv_from_arguments(&args(bad)).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn refuses_streams_and_shared_state() {
        let argv = |s: &str| vec![s.to_owned()];
        assert_eq!(check_supported(&argv("subscribe"), false).unwrap_err().kind(), ErrorKind::Unsupported);
        assert!(check_supported(&argv("MULTI"), true).is_err());
        assert!(check_supported(&argv("MULTI"), false).is_ok());
        assert!(check_supported(&argv("GET"), true).is_ok());
        assert!(check_supported(&argv("BLPOP"), true).is_err());
        let xread = |opt: &str| {
            vec![
                "XREAD".to_owned(),
                opt.to_owned(),
                "1".to_owned(),
                "STREAMS".to_owned(),
                "s".to_owned(),
                "0".to_owned(),
            ]
        };
        assert!(check_supported(&xread("block"), true).is_err());
        assert!(check_supported(&xread("COUNT"), true).is_ok());
        assert!(check_supported(&xread("BLOCK"), false).is_ok());
    }
}
