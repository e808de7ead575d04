//! curl and wget: a fetch is a read when it only brings data back. Sending data (a body, a
//! form, an upload, another method) is a write; sending what is only known at run time or read
//! from a local file (`-H @/etc/shadow`, `-d @file`, `"https://x/?d=$(...)"`) is sensitive,
//! and so are stored credentials (`--netrc`, client keys, cookie files) and cloud instance
//! metadata, which hands out credentials. Schemes other than http(s) and ftp reach services
//! that are not web servers (`gopher://` writes to any TCP port): unknown.

use super::{DOWNLOADER_RULE, NETWORK_SEND_RULE, Out, Rules, SECRET_RULE};
use crate::shell::secrets;
use crate::shell::words::Arg;
use crate::verdict::{Class, Finding};

/// Hosts that serve cloud instance metadata, credentials among it.
const METADATA_HOSTS: &[&str] = &[
    "169.254.169.254",
    "169.254.170.2",
    "[fd00:ec2::254]",
    "metadata.google.internal",
    "metadata",
    "100.100.100.200",
    "168.63.129.16",
    "169.254.169.123",
];

impl Rules<'_, '_> {
    pub(super) fn curl(&mut self, args: &[Arg]) {
        self.out = Some(Out::Download);
        let Some(p) = self.options("curl", "curl", args) else { return };
        let get = p.has(&["-G", "--get"]);
        let mut urls: Vec<&Arg> = p.operands.clone();
        urls.extend(p.values(&["--url"]));
        for u in &urls {
            self.url("curl", u);
        }
        for g in &p.given {
            let Some(v) = &g.value else { continue };
            let text = v.text.as_str();
            let data = matches!(
                g.name.as_str(),
                "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-urlencode" | "--data-ascii" | "--json"
            );
            if data && !(get && g.name != "--json") {
                self.write("shell.curl-send", format!("`curl {}` sends data", g.spelled));
            }
            match g.name.as_str() {
                "-H" | "--header" | "--proxy-header" | "-d" | "--data" | "--data-binary" | "--data-ascii"
                | "--json"
                    if text.starts_with('@') =>
                {
                    self.sends_file("curl", &text[1..], &g.spelled)
                }
                "--data-urlencode" | "--url-query" if text.contains('@') => {
                    let file = text.split_once('@').map_or("", |(_, f)| f);
                    self.sends_file("curl", file, &g.spelled);
                }
                "-F" | "--form" if text.contains("=@") || text.contains("=<") => {
                    let file = text.split_once(['@', '<']).map_or("", |(_, f)| f);
                    let file = file.split(';').next().unwrap_or_default();
                    self.sends_file("curl", file, &g.spelled);
                }
                "-T" | "--upload-file" => self.sends_file("curl", text, &g.spelled),
                "-b" | "--cookie" if !text.contains('=') => self
                    .sensitive(NETWORK_SEND_RULE, format!("`curl {}` sends the cookies stored in {text}", g.spelled)),
                "-w" | "--write-out" => {
                    if let Some(file) = text.strip_prefix('@')
                        && let Some(what) = secrets::secret(&Arg::literal(file), self.ctx.cwd)
                    {
                        self.sensitive(SECRET_RULE, format!("`curl -w @{file}` prints {file} ({what})"));
                    }
                    if text.contains("%output{") {
                        self.write("shell.curl-save", "`curl -w %output{...}` writes a file");
                    }
                }
                "-X" | "--request" if !(text.eq_ignore_ascii_case("GET") || text.eq_ignore_ascii_case("HEAD")) => {
                    self.write("shell.curl-send", format!("`curl` sends a {} request", v.shown()));
                }
                _ => {}
            }
        }
        if !self.found_above(Class::Read) {
            self.find(Finding::read(DOWNLOADER_RULE, "`curl` fetches from the network"));
        }
    }

    pub(super) fn wget(&mut self, args: &[Arg]) {
        self.out = Some(Out::Download);
        let Some(p) = self.options("wget", "wget", args) else { return };
        for u in &p.operands {
            self.url("wget", u);
        }
        for f in p.values(&["--post-file", "--body-file"]) {
            let file = f.text.clone();
            self.sends_file("wget", &file, "--post-file");
        }
        let output = p.last(&["-O", "--output-document"]).and_then(|g| g.value.clone());
        if let Some(out) = &output
            && out.text != "-"
        {
            let f = crate::shell::paths::redirect_target(out, self.ctx.cwd);
            self.find(f);
        }
        let saves = output.is_none() && !p.has(&["--spider"]);
        if saves {
            self.write("shell.wget-save", "`wget` saves a file");
        }
        if !self.found_above(Class::Read) {
            self.find(Finding::read(DOWNLOADER_RULE, "`wget` fetches from the network"));
        }
    }

    /// A URL: its scheme, its host, a local file behind `file://`.
    fn url(&mut self, tool: &str, u: &Arg) {
        if u.has_dynamic() {
            // Already found by the table's operand check (sensitive).
            return;
        }
        let text = u.text.as_str();
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("http".to_owned(), text),
        };
        match scheme.as_str() {
            "http" | "https" | "ftp" | "ftps" => {}
            "file" => {
                let path = rest.split_once('/').map_or("/".to_owned(), |(_, p)| format!("/{p}"));
                if let Some(what) = secrets::secret(&Arg::literal(&path), self.ctx.cwd) {
                    self.sensitive(SECRET_RULE, format!("`{tool}` reads {path} ({what})"));
                }
                return;
            }
            other => {
                self.unknown(
                    "shell.network.scheme",
                    format!("`{tool}` speaks {other}://, which can send commands to services that are not web servers"),
                );
                return;
            }
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if host.starts_with('[') {
            host.split_once(']').map_or(host.to_owned(), |(h, _)| format!("{h}]"))
        } else {
            host.split(':').next().unwrap_or_default().to_owned()
        };
        if METADATA_HOSTS.contains(&host.to_ascii_lowercase().as_str()) {
            self.sensitive(
                "shell.network.metadata",
                format!("`{tool}` reads cloud instance metadata at {host}, which hands out credentials"),
            );
        }
    }

    /// A local file sent to the network.
    fn sends_file(&mut self, tool: &str, file: &str, option: &str) {
        if file == "-" {
            self.sensitive(NETWORK_SEND_RULE, format!("`{tool} {option}` sends its standard input to the network"));
            return;
        }
        let what = secrets::secret(&Arg::literal(file), self.ctx.cwd).map(|w| format!(" ({w})")).unwrap_or_default();
        self.find(Finding::new(
            Class::Sensitive,
            NETWORK_SEND_RULE,
            format!("`{tool} {option}` sends the local file {file}{what} to the network"),
        ));
    }
}
