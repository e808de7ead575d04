//! The programs' tables, enumerated: an option that no table lists never makes a command a
//! read, an option that writes, runs code or reads secrets never does either, and the
//! options a table lists as safe keep a plain command a read.

use toolkit_policy::{Class, CommandKind, ProgramTable, classify, program_tables};

/// A command line that reaches the table `t` with `extra` as its options.
fn command(t: &ProgramTable, extra: &str) -> Option<String> {
    let line = match t.name {
        // Handled by rules of their own, without a table of options.
        "echo" | "test" | "[" => return None,
        "kubectl dry-run" => format!("kubectl apply -f x.yaml --dry-run=client {extra}"),
        "helm dry-run" => format!("helm install web ./chart --dry-run {extra}"),
        "docker ls" => format!("docker volume ls {extra}"),
        "docker df" => format!("docker system df {extra}"),
        "docker top" => format!("docker top web {extra}"),
        "declare" => format!("declare {extra} x=1"),
        "mapfile" => format!("mapfile {extra} lines"),
        "read" => format!("read {extra} line"),
        "unset" => format!("unset {extra} x"),
        "find" => format!("find . {extra}"),
        "ip" => format!("ip {extra} addr"),
        "tar" => format!("tar -tf a.tar {extra}"),
        "unzip" => format!("unzip -l a.zip {extra}"),
        "gzip" => format!("gzip -c a.gz {extra}"),
        "xxd" => format!("xxd {extra} a.bin"),
        "sed" => format!("sed {extra} -n p a.txt"),
        "awk" => format!("awk {extra} '{{print}}' a.txt"),
        "crontab" => format!("crontab -l {extra}"),
        "psql" => format!("psql {extra} -c 'select 1'"),
        "mysql" => format!("mysql {extra} -e 'select 1'"),
        "iptables" | "ip6tables" => format!("{} -L {extra}", t.name),
        "mount" => format!("mount -l {extra}"),
        "ps" => format!("ps {extra}"),
        "top" => format!("top {extra} -b"),
        "git config" => format!("git config {extra} --get user.name"),
        "git stash" => format!("git stash list {extra}"),
        "git worktree" => format!("git worktree list {extra}"),
        "git notes" => format!("git notes list {extra}"),
        "git submodule" => format!("git submodule status {extra}"),
        "ssh" => format!("ssh {extra} host ls"),
        "curl" => format!("curl {extra} https://example.com/"),
        "wget" => format!("wget -O - {extra} https://example.com/"),
        "dig" | "host" | "ping" | "ping6" | "traceroute" | "tracepath" | "nslookup" => {
            format!("{} {extra} example.com", t.name)
        }
        "git" => format!("git {extra} status"),
        "kubectl" => format!("kubectl {extra} get pods"),
        "helm" => format!("helm {extra} list"),
        "docker" | "podman" => format!("{} {extra} ps", t.name),
        "docker ps" | "docker images" | "docker info" | "docker inspect" | "docker logs" | "docker stats"
        | "docker history" | "docker version" | "docker events" | "docker search" => {
            format!("{} {extra} x", t.name)
        }
        name if name.starts_with("git ") => format!("{name} {extra}"),
        name if name.starts_with("kubectl ") => format!("{name} {extra}"),
        name if name.starts_with("helm ") => format!("{name} {extra}"),
        "sudo" | "doas" | "env" | "nice" | "nohup" | "setsid" | "stdbuf" | "time" | "ionice" | "chrt" | "taskset"
        | "xargs" | "strace" | "ltrace" | "command" | "exec" | "builtin" => format!("{} {extra} ls", t.name),
        "timeout" => format!("timeout {extra} 5 ls"),
        "flock" => format!("flock {extra} 9 ls"),
        "chroot" => format!("chroot {extra} /srv ls"),
        "watch" => return None,
        name => format!("{name} {extra}"),
    };
    Some(line)
}

#[test]
fn tables_are_enumerable_and_not_empty() {
    let tables = program_tables();
    assert!(tables.len() > 150, "only {} tables", tables.len());
    let options: usize = tables.iter().map(|t| t.safe.len() + t.raising.len()).sum();
    assert!(options > 2000, "only {options} options");
}

#[test]
fn an_option_no_table_lists_is_never_a_read() {
    let mut wrong = Vec::new();
    for t in program_tables() {
        for unknown in ["--zz-not-an-option", "--zz-not-an-option=1", "-\u{2603}"] {
            let Some(line) = command(&t, unknown) else { continue };
            let v = classify(CommandKind::Shell, &line);
            if v.class == Class::Read {
                wrong.push(line);
            }
        }
    }
    assert!(wrong.is_empty(), "unknown options classified read:\n{}", wrong.join("\n"));
}

#[test]
fn options_that_raise_the_class_are_never_a_read() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for t in program_tables() {
        for (option, what) in &t.raising {
            if what.starts_with("read:") || what.starts_with("checked by") || what.starts_with("reads the file") {
                continue;
            }
            let spelled = match option.split_once(['=', ' ', '[']) {
                Some((name, _)) if option.ends_with(" A B") => format!("{name} a b"),
                Some((name, _)) if option.ends_with('=') && name.starts_with("--") => format!("{name}=/tmp/out"),
                Some((name, _)) if option.ends_with('=') => format!("{name} /tmp/out"),
                Some((name, _)) => name.to_owned(),
                None => option.clone(),
            };
            let Some(line) = command(&t, &spelled) else { continue };
            checked += 1;
            let v = classify(CommandKind::Shell, &line);
            if v.class == Class::Read {
                wrong.push(format!("{line}  ({what})"));
            }
        }
    }
    assert!(checked > 150, "only {checked} raising options checked");
    assert!(wrong.is_empty(), "options with effects classified read:\n{}", wrong.join("\n"));
}

#[test]
fn flags_a_table_lists_as_safe_keep_a_read() {
    let mut wrong = Vec::new();
    for t in program_tables() {
        for flag in t.safe.iter().filter(|f| !f.ends_with('=') && !f.contains(' ') && !f.ends_with("[=]")) {
            if matches!(
                t.name,
                "kubectl dry-run" | "helm dry-run" | "set" | "exec" | "command" | "sudo" | "doas" | "crontab" | "top"
            ) || matches!(
                flag.as_str(),
                "-i" | "--interactive" | "-p" | "-s" | "--shell" | "-e" | "--edit" | "--help" | "-h"
            ) {
                continue;
            }
            let Some(line) = command(&t, flag) else { continue };
            let v = classify(CommandKind::Shell, &line);
            if v.class != Class::Read {
                let why: Vec<String> =
                    v.reasons.iter().filter(|r| r.class > Class::Read).map(ToString::to_string).collect();
                wrong.push(format!("{line}: {}", why.join("; ")));
            }
        }
    }
    let share = wrong.len();
    // `time` is bash's keyword (which takes only -p), `kubectl exec` needs a command: known
    // exceptions; anything else here is a table that lists an option its rule refuses.
    assert!(share < 20, "{share} safe flags do not keep a read:\n{}", wrong.join("\n"));
}
