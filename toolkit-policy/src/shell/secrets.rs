//! Files that hold secrets: reading one is `sensitive`, not `read`.
//!
//! Paths are compared after lexical normalization (see [`super::paths::normalize`]), so
//! `/etc/./shadow` and `cd ~/.ssh && cat id_rsa` are found. Absolute entries match the path or
//! anything below it; relative entries match the last components of any path (`.ssh/id_rsa`
//! matches `~/.ssh/id_rsa`, `/home/u/.ssh/id_rsa` and `.ssh/id_rsa`); entries are globs. A glob
//! on the command line is sensitive when it may match one of [`SAMPLES`].

use super::paths::normalize;
use super::words::{Arg, CHILD, DYN};

/// Absolute paths (and everything below them) that hold secrets, with what they hold.
pub(crate) const SECRET_PATHS: &[(&str, &str)] = &[
    ("/etc/shadow", "password hashes"),
    ("/etc/shadow-", "password hashes"),
    ("/etc/gshadow", "group password hashes"),
    ("/etc/gshadow-", "group password hashes"),
    ("/etc/master.passwd", "password hashes"),
    ("/etc/security/opasswd", "old password hashes"),
    ("/etc/sudoers", "privilege rules"),
    ("/etc/sudoers.d", "privilege rules"),
    ("/etc/ssh/ssh_host_*_key", "an SSH host private key"),
    ("/etc/ssl/private", "TLS private keys"),
    ("/etc/pki/tls/private", "TLS private keys"),
    ("/etc/letsencrypt/live", "TLS private keys"),
    ("/etc/letsencrypt/archive", "TLS private keys"),
    ("/etc/kubernetes/admin.conf", "a cluster-admin kubeconfig"),
    ("/etc/kubernetes/super-admin.conf", "a cluster-admin kubeconfig"),
    ("/etc/kubernetes/kubelet.conf", "a kubelet kubeconfig"),
    ("/etc/kubernetes/controller-manager.conf", "a kubeconfig"),
    ("/etc/kubernetes/scheduler.conf", "a kubeconfig"),
    ("/etc/kubernetes/pki", "cluster private keys"),
    ("/etc/rancher/k3s/k3s.yaml", "a cluster-admin kubeconfig"),
    ("/etc/rancher/rke2/rke2.yaml", "a cluster-admin kubeconfig"),
    ("/var/lib/rancher/k3s/server/token", "a cluster join token"),
    ("/var/lib/rancher/k3s/server/tls", "cluster private keys"),
    ("/var/lib/kubelet/pki", "kubelet private keys"),
    ("/var/lib/kubelet/pods/*/volumes/kubernetes.io~secret", "mounted Secrets"),
    ("/var/lib/kubelet/pods/*/volumes/kubernetes.io~projected", "mounted service account tokens"),
    ("/var/run/secrets", "mounted Secrets and service account tokens"),
    ("/run/secrets", "mounted Secrets and service account tokens"),
    ("/etc/mysql/debian.cnf", "database credentials"),
    ("/root", "the root user's files"),
    ("/proc/*/environ", "another process's environment"),
    ("/proc/*/mem", "another process's memory"),
    ("/proc/*/task/*/environ", "another process's environment"),
    ("/proc/*/task/*/mem", "another process's memory"),
    ("/proc/kcore", "the kernel's memory"),
    ("/dev/mem", "physical memory"),
    ("/dev/kmem", "kernel memory"),
    ("/dev/port", "I/O ports"),
    ("/var/lib/postgresql/*/main/pg_hba.conf", "database access rules"),
    ("/var/lib/mysql", "database files"),
    ("/var/lib/docker/containers/*/config.v2.json", "container environments"),
    ("/var/lib/etcd", "the cluster's store, Secrets included"),
];

/// Trailing path components (globs) that hold secrets, wherever they are.
pub(crate) const SECRET_NAMES: &[(&str, &str)] = &[
    (".ssh/id_*", "an SSH private key"),
    (".ssh/identity", "an SSH private key"),
    (".ssh/*_rsa", "an SSH private key"),
    (".ssh/*_ed25519", "an SSH private key"),
    (".ssh/*_ecdsa", "an SSH private key"),
    ("id_rsa", "an SSH private key"),
    ("id_dsa", "an SSH private key"),
    ("id_ecdsa", "an SSH private key"),
    ("id_ed25519", "an SSH private key"),
    ("id_ecdsa_sk", "an SSH private key"),
    ("id_ed25519_sk", "an SSH private key"),
    (".aws/credentials", "cloud credentials"),
    (".aws/config", "cloud credentials and credential programs"),
    (".aws/sso/cache", "cloud session tokens"),
    (".aws/cli/cache", "cloud session tokens"),
    (".azure", "cloud credentials"),
    (".config/gcloud", "cloud credentials"),
    (".oci/config", "cloud credentials"),
    (".oci/*.pem", "a cloud API key"),
    (".kube/config", "a kubeconfig with cluster credentials"),
    (".kube/*.yaml", "a kubeconfig with cluster credentials"),
    (".kube/*.yml", "a kubeconfig with cluster credentials"),
    (".kube/*config*", "a kubeconfig with cluster credentials"),
    ("kubeconfig", "a kubeconfig with cluster credentials"),
    ("*.kubeconfig", "a kubeconfig with cluster credentials"),
    ("kubeconfig.y*ml", "a kubeconfig with cluster credentials"),
    (".docker/config.json", "registry credentials"),
    (".netrc", "stored passwords"),
    ("_netrc", "stored passwords"),
    (".pgpass", "database passwords"),
    (".my.cnf", "database passwords"),
    (".mylogin.cnf", "database passwords"),
    (".git-credentials", "git credentials"),
    (".config/git/credentials", "git credentials"),
    (".config/gh/hosts.yml", "a GitHub token"),
    (".config/hub", "a GitHub token"),
    (".npmrc", "registry tokens"),
    (".pypirc", "registry passwords"),
    (".gem/credentials", "registry tokens"),
    (".cargo/credentials", "registry tokens"),
    (".cargo/credentials.toml", "registry tokens"),
    (".terraform.d/credentials.tfrc.json", "Terraform tokens"),
    ("terraform.tfstate", "Terraform state, which holds secrets"),
    ("terraform.tfstate.backup", "Terraform state, which holds secrets"),
    ("*.tfstate", "Terraform state, which holds secrets"),
    (".vault-token", "a Vault token"),
    (".password-store", "stored passwords"),
    (".gnupg/private-keys-v1.d", "GnuPG private keys"),
    (".gnupg/secring.gpg", "GnuPG private keys"),
    (".s3cfg", "cloud credentials"),
    (".boto", "cloud credentials"),
    (".config/rclone/rclone.conf", "cloud credentials"),
    (".config/doctl/config.yaml", "a cloud token"),
    (".bash_history", "shell history, which may hold passwords"),
    (".zsh_history", "shell history, which may hold passwords"),
    (".psql_history", "database history, which may hold passwords"),
    (".mysql_history", "database history, which may hold passwords"),
    (".env", "environment secrets"),
    (".env.local", "environment secrets"),
    (".env.production", "environment secrets"),
    (".env.prod", "environment secrets"),
    (".env.development", "environment secrets"),
    (".env.staging", "environment secrets"),
    (".envrc", "environment secrets"),
    ("*.key", "a private key"),
    ("*-key.pem", "a private key"),
    ("*_key.pem", "a private key"),
    ("*.key.pem", "a private key"),
    ("privkey*.pem", "a private key"),
    ("private*.pem", "a private key"),
    ("*.p12", "a key store"),
    ("*.pfx", "a key store"),
    ("*.jks", "a key store"),
    ("*.keystore", "a key store"),
    ("*.kdbx", "a password database"),
    (".htpasswd", "password hashes"),
    ("credentials.json", "credentials"),
    ("credentials.yaml", "credentials"),
    ("credentials.yml", "credentials"),
    ("secrets.yaml", "secrets"),
    ("secrets.yml", "secrets"),
    ("secrets.json", "secrets"),
    ("secrets.env", "secrets"),
    ("service-account*.json", "a cloud service account key"),
    ("*serviceaccount*.json", "a cloud service account key"),
    ("master.key", "an application master key"),
    ("wp-config.php", "database passwords"),
];

/// Paths a glob on the command line is tried against: one for each entry above.
pub(crate) const SAMPLES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssl/private/server.key",
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/pki/ca.key",
    "/etc/rancher/k3s/k3s.yaml",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "/run/secrets/kubernetes.io/serviceaccount/token",
    "/proc/1/environ",
    "/proc/self/environ",
    "/root/.ssh/id_rsa",
    "/root/.bash_history",
    "/home/user/.ssh/id_rsa",
    "/home/user/.ssh/id_ed25519",
    "/home/user/.aws/credentials",
    "/home/user/.kube/config",
    "/home/user/.docker/config.json",
    "/home/user/.netrc",
    "/home/user/.pgpass",
    "/home/user/.git-credentials",
    "/home/user/.npmrc",
    "/home/user/.env",
    "~/.ssh/id_rsa",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ecdsa",
    "~/.aws/credentials",
    "~/.kube/config",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.pgpass",
    "~/.my.cnf",
    "~/.git-credentials",
    "~/.config/gcloud/credentials.db",
    "~/.config/gh/hosts.yml",
    "~/.npmrc",
    "~/.vault-token",
    "~/.bash_history",
    "~/.env",
    ".env",
    ".ssh/id_rsa",
    "server.key",
    "terraform.tfstate",
    "/etc/letsencrypt/live/example/privkey.pem",
    "tls/tls.key",
    "id_rsa",
];

/// What the file `arg` holds when it is a secret, for a message.
pub(crate) fn secret(arg: &Arg, cwd: Option<&str>) -> Option<&'static str> {
    if let Some(pattern) = &arg.pattern {
        let pattern = normalize(pattern, cwd);
        let glob = glob::Pattern::new(&pattern).ok()?;
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        return SAMPLES.iter().find(|s| glob.matches_with(s, options)).and_then(|s| secret_path(s));
    }
    if arg.has_dynamic() {
        return dynamic_secret(arg, cwd);
    }
    secret_path(&normalize(&arg.text, cwd))
}

/// [`secret`], also trying every literal value of the variables the word expands.
pub(crate) fn secret_with(
    arg: &Arg,
    cwd: Option<&str>,
    values: &std::collections::HashMap<String, Vec<String>>,
) -> Option<&'static str> {
    secret(arg, cwd).or_else(|| {
        if !arg.has_dynamic() {
            return None;
        }
        arg.vars.iter().flat_map(|v| values.get(v).into_iter().flatten()).find_map(|value| {
            let text = arg.text.replacen(DYN, value, 1).replace(DYN, "");
            secret_path(&normalize(&text, cwd))
        })
    })
}

/// A path partly known: `/etc/sha$(x)` may be `/etc/shadow`, and `$(echo /etc/shadow)` names it
/// in the command it runs. A path with fewer than three known characters is not judged.
fn dynamic_secret(arg: &Arg, cwd: Option<&str>) -> Option<&'static str> {
    for sub in &arg.substitutions {
        for token in
            sub.split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ';' | '|' | '&' | '(' | ')' | '<' | '>'))
        {
            if !(token.contains('/') || token.starts_with('.')) {
                continue;
            }
            if let Some(what) = secret_path(&normalize(token, cwd)) {
                return Some(what);
            }
        }
    }
    let known = arg.text.chars().filter(|c| !matches!(*c, DYN | CHILD | '/')).count();
    if known < 3 {
        return None;
    }
    let pattern: String = arg
        .text
        .chars()
        .map(|c| if c == DYN || c == CHILD { "*".to_owned() } else { glob::Pattern::escape(&c.to_string()) })
        .collect();
    let pattern = normalize(&pattern, cwd);
    let glob = glob::Pattern::new(&pattern).ok()?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    SAMPLES.iter().find(|s| glob.matches_with(s, options)).and_then(|s| secret_path(s))
}

/// Parts of variable names that hold credentials (`GITHUB_TOKEN`, `PGPASSWORD`,
/// `AWS_SECRET_ACCESS_KEY`): expanding one shows or sends it.
pub(crate) const SECRET_VARIABLES: &[&str] = &[
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*_PASS",
    "*CREDENTIAL*",
    "*API_KEY*",
    "*APIKEY*",
    "*PRIVATE_KEY*",
    "*ACCESS_KEY*",
];

/// Whether a variable's name says it holds a credential.
pub(crate) fn secret_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_VARIABLES.iter().any(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(&upper)))
}

/// What a directory holds below it when a recursive read (`grep -r`, `rg`) would reach a
/// secret: only for absolute or home paths, whose contents are known.
pub(crate) fn secret_below(arg: &Arg, cwd: Option<&str>) -> Option<&'static str> {
    if !arg.is_exact() {
        return secret(arg, cwd);
    }
    let dir = normalize(&arg.text, cwd);
    if !(dir.starts_with('/') || dir.starts_with('~')) {
        return secret_path(&dir);
    }
    let prefix = if dir == "/" { "/".to_owned() } else { format!("{dir}/") };
    secret_path(&dir).or_else(|| {
        SAMPLES
            .iter()
            .filter(|s| s.starts_with(&prefix) || dir == "~" && s.starts_with("~/"))
            .find_map(|s| secret_path(s))
    })
}

/// What the normalized path holds when it is a secret (also compressed: `credentials.gz`).
pub(crate) fn secret_path(path: &str) -> Option<&'static str> {
    for suffix in [".gz", ".bz2", ".xz", ".zst", ".bak", ".orig", ".old", "~", ".swp"] {
        if let Some(base) = path.strip_suffix(suffix)
            && let Some(what) = plain_secret_path(base)
        {
            return Some(what);
        }
    }
    plain_secret_path(path)
}

fn plain_secret_path(path: &str) -> Option<&'static str> {
    // `/proc/PID/root/...` is the file system as that process sees it.
    if let Some(rest) = path.strip_prefix("/proc/")
        && let Some((_, inner)) = rest.split_once("/root/")
        && !rest.split_once("/root/").is_some_and(|(pid, _)| pid.contains('/'))
    {
        return plain_secret_path(&format!("/{inner}"));
    }
    // Public keys and certificates are not secrets.
    if path.ends_with(".pub") || path.ends_with(".crt") {
        return None;
    }
    let options = glob::MatchOptions {
        case_sensitive: false,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    for (entry, what) in SECRET_PATHS {
        let Ok(g) = glob::Pattern::new(entry) else { continue };
        // The entry itself or anything below it.
        let mut prefix = String::new();
        for component in path.split('/') {
            if !prefix.is_empty() || path.starts_with('/') {
                prefix.push('/');
            }
            prefix.push_str(component);
            let candidate = prefix.replace("//", "/");
            if g.matches_with(&candidate, options) {
                return Some(what);
            }
        }
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    for (entry, what) in SECRET_NAMES {
        let wanted: Vec<&str> = entry.split('/').collect();
        // The entry matches a run of components, and the file is that run or below it.
        for start in 0..components.len() {
            let end = start + wanted.len();
            if end > components.len() {
                break;
            }
            let hit = wanted
                .iter()
                .zip(&components[start..end])
                .all(|(w, c)| glob::Pattern::new(w).is_ok_and(|g| g.matches_with(c, options)));
            if hit {
                return Some(what);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> Arg {
        Arg { text: text.into(), pattern: Some(text.into()), ..Arg::default() }
    }

    #[test]
    fn secrets_are_found_however_spelled() {
        for p in [
            "/etc/shadow",
            "/etc/./shadow",
            "//etc/shadow",
            "~/.ssh/id_rsa",
            "/home/bob/.ssh/id_ed25519",
            ".ssh/id_rsa",
            "~/.aws/credentials",
            "~/.kube/config",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "/proc/1/environ",
            "/proc/self/environ",
            "deploy/.env",
            "tls/server.key",
            "/etc/kubernetes/pki/ca.key",
        ] {
            assert!(secret(&Arg::literal(p), None).is_some(), "{p}");
        }
        assert!(secret(&Arg::literal("id_rsa"), Some("~/.ssh")).is_some());
        for p in [
            "/etc/passwd",
            "/etc/hosts",
            "~/.ssh/id_rsa.pub",
            "~/.ssh/known_hosts",
            "README.md",
            ".env.example",
            "/var/log/syslog",
            "keys.txt",
        ] {
            assert!(secret(&Arg::literal(p), None).is_none(), "{p}");
        }
        assert!(secret(&glob("/etc/sha*"), None).is_some());
        assert!(secret(&glob("~/.ssh/*"), None).is_some());
        assert!(secret(&glob("/home/*/.aws/*"), None).is_some());
        assert!(secret(&glob("*.log"), None).is_none());
        let partly = |t: &str| Arg::literal(t.replace('$', &DYN.to_string()));
        assert!(secret(&partly("/etc/sha$"), None).is_some());
        assert!(secret(&partly("~/.ssh/id_$"), None).is_some());
        assert!(secret(&partly("$"), None).is_none());
        assert!(secret(&partly("$/$"), None).is_none());
        assert!(secret(&partly("$/notes.txt"), None).is_none());
        let mut sub = Arg::dynamic();
        sub.substitutions.push("echo /etc/shadow".into());
        assert!(secret(&sub, None).is_some());
    }

    #[test]
    fn every_entry_has_a_sample() {
        for (entry, _) in SECRET_PATHS.iter().chain(SECRET_NAMES) {
            assert!(glob::Pattern::new(entry).is_ok(), "{entry}");
        }
        for s in SAMPLES {
            assert!(secret_path(s).is_some(), "sample {s} is not a secret");
        }
    }
}
