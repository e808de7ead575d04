//! Which paths matter: system locations whose change is dangerous, broad targets whose
//! recursive removal is dangerous, and the device files a redirection may harmlessly name.
//!
//! Paths are normalized lexically first (`//etc/./x/../passwd` is `/etc/passwd`; relative
//! paths are resolved against a working directory set by an earlier `cd`), so spelling a
//! path differently does not change its class.

use super::words::{Arg, CHILD, DYN};
use crate::verdict::Finding;

/// Top-level and system directories: removing one of them, or everything in one, is
/// dangerous. `/tmp` is not among them, so cleaning it is a plain write.
const SYSTEM_ROOTS: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/usr",
    "/var",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local",
    "/usr/share",
    "/usr/include",
    "/var/lib",
    "/var/log",
    "/var/cache",
    "/var/spool",
    "/var/mail",
];

/// Places where any write is dangerous, with why.
const PROTECTED: &[(&str, &str)] = &[
    ("/etc", "system configuration"),
    ("/boot", "the boot loader and kernels"),
    ("/bin", "system programs"),
    ("/sbin", "system programs"),
    ("/usr/bin", "system programs"),
    ("/usr/sbin", "system programs"),
    ("/lib", "system libraries"),
    ("/lib64", "system libraries"),
    ("/usr/lib", "system libraries"),
    ("/usr/lib64", "system libraries"),
    ("/proc/sys", "kernel settings"),
    ("/proc/sysrq-trigger", "the kernel's emergency trigger"),
    ("/sys", "kernel and device settings"),
    ("/dev/disk", "a disk"),
    ("/dev/mapper", "a disk"),
    ("/dev/mem", "physical memory"),
    ("/dev/kmem", "kernel memory"),
    ("/dev/port", "I/O ports"),
];

/// Device name prefixes under `/dev` that are disks.
const DISK_DEVICES: &[&str] = &["sd", "hd", "vd", "xvd", "nvme", "mmcblk", "md", "dm-", "loop", "sr", "nbd", "rbd"];

/// Files that take writes without changing anything.
const HARMLESS: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/stdout", "/dev/stderr", "/dev/tty"];

/// Normalizes a path lexically. `~` (and `~user`) stays a root of its own; a relative path
/// is resolved against `cwd` when that is known.
pub(crate) fn normalize(text: &str, cwd: Option<&str>) -> String {
    let joined;
    let text = match cwd {
        Some(dir) if !text.starts_with('/') && !text.starts_with('~') => {
            joined = format!("{dir}/{text}");
            joined.as_str()
        }
        _ => text,
    };
    let (root, rest) = if let Some(rest) = text.strip_prefix('/') {
        ("/", rest)
    } else if text.starts_with('~') {
        let end = text.find('/').unwrap_or(text.len());
        (&text[..end], &text[end..])
    } else {
        ("", text)
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if root.is_empty() {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (root, body.is_empty()) {
        ("/", _) => format!("/{body}"),
        ("", true) => ".".to_owned(),
        ("", false) => body,
        (home, true) => home.to_owned(),
        (home, false) => format!("{home}/{body}"),
    }
}

/// Why a write to `path` (normalized) is dangerous, if it is.
pub(crate) fn protected(path: &str) -> Option<String> {
    if let Some(dev) = path.strip_prefix("/dev/")
        && DISK_DEVICES.iter().any(|d| dev.starts_with(d))
    {
        return Some(format!("writes to the disk device {path}"));
    }
    PROTECTED
        .iter()
        .find(|(dir, _)| path == *dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/')))
        .map(|(dir, what)| format!("writes under {dir} ({what})"))
}

/// Whether a write to `path` (normalized) changes nothing.
pub(crate) fn harmless(path: &str) -> bool {
    HARMLESS.contains(&path) || path.strip_prefix("/dev/fd/").is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// The system location a glob may match (`/e?c` matches `/etc`, `/*/passwd` reaches into it).
fn glob_hit(arg: &Arg, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let pattern = arg.pattern.as_deref()?;
    if !pattern.starts_with('/') {
        return None;
    }
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    candidates.into_iter().find(|candidate| {
        let n = candidate.split('/').filter(|c| !c.is_empty()).count();
        let prefix = format!("/{}", components.iter().take(n).copied().collect::<Vec<_>>().join("/"));
        (n == 0 && components.len() <= 1) || glob::Pattern::new(&prefix).is_ok_and(|g| g.matches(candidate))
    })
}

/// Why a recursive removal (or change) of `arg` is dangerous, if it is: the root, a home
/// directory, a system directory, the working directory or everything in one of them, or a
/// target that is only known at run time.
pub(crate) fn broad(arg: &Arg, cwd: Option<&str>) -> Option<String> {
    let globbing = arg.pattern.is_some();
    if let Some(hit) = glob_hit(arg, SYSTEM_ROOTS.iter().copied()) {
        return Some(format!("`{}` may match the system directory {hit}", arg.text));
    }
    let path = normalize(&arg.text, cwd);
    // Trailing components that are only globs or run-time text could be anything in the
    // directory before them (or nothing, leaving the directory itself).
    let mut base = path.as_str();
    let mut stripped = false;
    loop {
        let (head, last) = match base.rfind('/') {
            Some(i) => (&base[..i], &base[i + 1..]),
            None => ("", base),
        };
        let only_wild = !last.is_empty()
            && last.chars().all(|c| c == DYN || (globbing && matches!(c, '*' | '?' | '.' | '[' | ']')))
            && last.chars().any(|c| c == DYN || c == '*' || c == '?');
        if !only_wild || last.starts_with('~') {
            break;
        }
        stripped = true;
        base = if head.is_empty() && base.starts_with('/') { "/" } else { head };
        if base.is_empty() || base == "/" {
            break;
        }
    }
    let base = if base.is_empty() { "." } else { base };
    let shown = super::words::show(&arg.text);
    let what = if base == "/" {
        "the root directory"
    } else if base.starts_with('~') && !base.contains('/') {
        "a home directory"
    } else if base == "." || base == ".." {
        "the working directory"
    } else if SYSTEM_ROOTS.contains(&base) {
        "a system directory"
    } else if base.starts_with('/') && base.matches('/').count() == 1 && base.contains(CHILD) {
        "a top-level directory"
    } else {
        return None;
    };
    Some(if stripped && arg.has_dynamic() {
        format!("`{shown}` is only known at run time and may be {what} or everything in it")
    } else if stripped {
        format!("`{shown}` is everything in {what}")
    } else {
        format!("`{shown}` is {what}")
    })
}

/// The finding for output written to `arg` (a redirection or `tee`).
pub(crate) fn redirect_target(arg: &Arg, cwd: Option<&str>) -> Finding {
    let path = normalize(&arg.text, cwd);
    if harmless(&path) {
        return Finding::read("shell.redirect.discard", format!("output to {path} changes nothing"));
    }
    if let Some(why) = protected(&path) {
        return Finding::dangerous("shell.redirect.protected", format!("output redirected to {path}: {why}"));
    }
    Finding::write("shell.redirect.file", format!("writes the file {}", arg.shown()))
}

/// The finding for a file a command changes (removes, creates, copies to, changes mode of).
pub(crate) fn changed_file(arg: &Arg, cwd: Option<&str>, verb: &str) -> Finding {
    if let Some(hit) = glob_hit(arg, PROTECTED.iter().map(|(dir, _)| *dir)) {
        return Finding::dangerous("shell.protected-path", format!("{verb} `{}`, which may match {hit}", arg.text));
    }
    let path = normalize(&arg.text, cwd);
    if let Some(why) = protected(&path) {
        return Finding::dangerous("shell.protected-path", format!("{verb} {path}: {why}"));
    }
    Finding::write("shell.file-write", format!("{verb} {}", arg.shown()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> Arg {
        Arg { text: text.into(), pattern: Some(text.into()), ..Arg::default() }
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize("//etc/./x/../passwd", None), "/etc/passwd");
        assert_eq!(normalize("/..", None), "/");
        assert_eq!(normalize("passwd", Some("/etc")), "/etc/passwd");
        assert_eq!(normalize("~/", None), "~");
        assert_eq!(normalize("./", None), ".");
        assert_eq!(normalize("a/../..", None), "..");
    }

    #[test]
    fn broad_targets() {
        for t in ["/", "//", "/.", "~", "~/", ".", "..", "/usr", "/etc/", "/home/"] {
            assert!(broad(&Arg::literal(t), None).is_some(), "{t}");
        }
        for t in ["/*", "*", "~/*", "/var/*", "./*", ".*"] {
            assert!(broad(&glob(t), None).is_some(), "{t}");
        }
        assert!(broad(&Arg::dynamic(), None).is_some());
        assert!(broad(&Arg::literal(format!("/{CHILD}")), None).is_some());
        for t in ["/tmp/x", "build", "/var/log/app", "~/project", "./target"] {
            assert!(broad(&Arg::literal(t), None).is_none(), "{t}");
        }
        assert!(broad(&Arg::literal("*"), None).is_none(), "a quoted * is a file name");
        assert!(broad(&glob("/tmp/*"), None).is_none());
        assert!(broad(&Arg::literal(format!("{DYN}/build")), None).is_none());
        assert!(broad(&Arg::literal(format!("./{CHILD}")), None).is_none());
    }

    #[test]
    fn protected_paths() {
        assert!(protected("/etc/passwd").is_some());
        assert!(protected("/dev/sda1").is_some());
        assert!(protected("/dev/nvme0n1").is_some());
        assert!(protected("/etcetera").is_none());
        assert!(protected("/dev/null").is_none());
        assert!(harmless("/dev/fd/2"));
    }
}
