//! Variables: which assignments turn a read into code.
//!
//! A variable given to a program (`NAME=value cmd`, `env NAME=value cmd`, `export NAME`, `sudo
//! NAME=value cmd`) is safe only when it is on [`SAFE_ENV`]: programs read many variables that
//! run code (`GIT_EXTERNAL_DIFF`, `KUBECTL_EXTERNAL_DIFF`, `*_PAGER`, `LD_PRELOAD`,
//! `BASH_FUNC_name%%`, `GIT_CONFIG_COUNT`, `TAR_OPTIONS`...), so the list is an allowlist. A
//! shell variable that is only set (`x=5`) is safe unless its name is one the shell or programs
//! read ([`CODE_PATTERNS`]): it may already be exported, so setting it changes what they do.
//! Any value that holds `$(`, a backtick or `${` as text is code in waiting: bash runs it when
//! it evaluates the variable in arithmetic, as a subscript or as a prompt.

use crate::shell::words::Arg;
use crate::verdict::Finding;

/// Variables that are safe to give a program: language, time zone, terminal size and colours.
pub(crate) const SAFE_ENV: &[&str] = &[
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "COLUMNS",
    "LINES",
    "TERM",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
    "COLORTERM",
    "TIME_STYLE",
    "BLOCK_SIZE",
    "BLOCKSIZE",
    "DF_BLOCK_SIZE",
    "DU_BLOCK_SIZE",
    "LS_BLOCK_SIZE",
    "LS_COLORS",
    "GREP_COLOR",
    "GREP_COLORS",
    "JQ_COLORS",
    "POSIXLY_CORRECT",
    "QUOTING_STYLE",
    "TABSIZE",
    "DEBIAN_FRONTEND",
    "SYSTEMD_COLORS",
    "SYSTEMD_URLIFY",
    "SYSTEMD_LOG_LEVEL",
    "NO_PROXY",
    "no_proxy",
];

/// Names the shell or common programs read to decide what to run, where to send requests or
/// which files to read: setting one (even without `export`) is not a read.
pub(crate) const CODE_PATTERNS: &[&str] = &[
    "PATH",
    "CDPATH",
    "LD_*",
    "DYLD_*",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "BASH_*",
    "BASHOPTS",
    "SHELLOPTS",
    "IFS",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT_COMMAND",
    "PROMPT_DIRTRIM",
    "GLOBIGNORE",
    "HISTFILE",
    "HOME",
    "TMPDIR",
    "XDG_*",
    "SHELL",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MANPAGER",
    "*_PAGER",
    "*_EDITOR",
    "*_EXTERNAL_*",
    "GIT_*",
    "KUBECONFIG",
    "KUBECTL_*",
    "KUBE_*",
    "HELM_*",
    "DOCKER_*",
    "CONTAINER_*",
    "SSH_*",
    "*ASKPASS*",
    "*_COMMAND",
    "*_CMD",
    "*_OPTIONS",
    "*_OPTS",
    "*_CONFIG",
    "*_CONFIG_*",
    "*_CONFIG_PATH",
    "*_HOME",
    "*_PROXY",
    "*_proxy",
    "LESS*",
    "GZIP",
    "BZIP*",
    "XZ_*",
    "ZSTD_*",
    "TAR_*",
    "CURL_*",
    "WGETRC",
    "SSL_*",
    "OPENSSL_*",
    "GCONV_PATH",
    "MALLOC_*",
    "GLIBC_TUNABLES",
    "PYTHON*",
    "PERL*",
    "RUBY*",
    "GEM_*",
    "NODE_*",
    "NPM_*",
    "npm_*",
    "JAVA_*",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "GO*",
    "CARGO_*",
    "RUST*",
    "CC",
    "CXX",
    "MAKE*",
    "PG*",
    "MYSQL_*",
    "AWS_*",
    "GOOGLE_*",
    "CLOUDSDK_*",
    "AZURE_*",
    "VAULT_*",
    "TERMINFO*",
    "MAIL*",
    "RIPGREP_*",
    "SYSTEMD_*",
    "TZDIR",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "RES_OPTIONS",
    "LOCALDOMAIN",
];

/// Whether `name` matches one of `patterns` (globs with `*`).
pub(crate) fn matches_any(name: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(name)))
}

/// Whether text holds what bash runs when it evaluates it: a command substitution, a
/// backtick or a parameter expansion.
pub(crate) fn holds_code(text: &str) -> bool {
    text.contains("$(") || text.contains('`') || text.contains("${") || text.contains("$[")
}

/// How a variable is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setting {
    /// Given to one program, or exported.
    Exported,
    /// A shell variable only.
    Shell,
}

/// The finding for setting `name` to `values`.
pub(crate) fn assignment(name: &str, values: &[Arg], how: Setting) -> Finding {
    if let Some(v) = values.iter().find(|v| holds_code(&v.text)) {
        return Finding::unknown(
            "shell.env.code-text",
            format!("sets {name} to text that bash runs when it evaluates it (`{}`)", v.shown()),
        );
    }
    if name.starts_with("BASH_FUNC_") {
        return Finding::unknown("shell.env.function", format!("{name} defines a shell function for the program"));
    }
    if matches_any(name, CODE_PATTERNS) && !matches_any(name, SAFE_ENV) {
        return Finding::unknown("shell.env.code", format!("sets {name}, which changes what programs run or read"));
    }
    match how {
        Setting::Exported if !matches_any(name, SAFE_ENV) && !is_local_name(name) => Finding::unknown(
            "shell.env.unknown",
            format!("gives {name} to a program; it is not a variable known to be safe to set"),
        ),
        Setting::Exported => Finding::read("shell.env.assignment", format!("sets {name} for the program")),
        Setting::Shell => Finding::read("shell.assignment", format!("sets the shell variable {name}")),
    }
}

/// A lowercase name is a shell script's own variable by convention; programs read uppercase
/// ones (the lowercase ones they read are in [`CODE_PATTERNS`]).
fn is_local_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_lowercase()) && !matches_any(name, CODE_PATTERNS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Class;

    #[test]
    fn variables_that_run_code() {
        for name in [
            "GIT_EXTERNAL_DIFF",
            "KUBECTL_EXTERNAL_DIFF",
            "GIT_CONFIG_COUNT",
            "GIT_CONFIG_KEY_0",
            "GIT_PAGER",
            "SYSTEMD_PAGER",
            "LD_PRELOAD",
            "LD_AUDIT",
            "BASH_FUNC_ls%%",
            "TAR_OPTIONS",
            "PAGER",
            "PATH",
            "https_proxy",
            "KUBECONFIG",
        ] {
            for how in [Setting::Exported, Setting::Shell] {
                assert_eq!(assignment(name, &[], how).class, Class::Unknown, "{name}");
            }
        }
        assert_eq!(assignment("LANG", &[], Setting::Exported).class, Class::Read);
        assert_eq!(assignment("LC_ALL", &[], Setting::Exported).class, Class::Read);
        assert_eq!(assignment("FOO", &[], Setting::Exported).class, Class::Unknown);
        assert_eq!(assignment("FOO", &[], Setting::Shell).class, Class::Read);
        assert_eq!(assignment("x", &[], Setting::Exported).class, Class::Read);
        assert_eq!(assignment("x", &[Arg::literal("a[$(id)]")], Setting::Shell).class, Class::Unknown);
    }
}
