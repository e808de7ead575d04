//! Connections of one tool: TCP, the SSH handshake with the host key checked against the
//! pinned fingerprint and/or a known_hosts file, authentication with the key or password
//! resolved at that moment, and the mapping of failures to [`ErrorKind`]s.
//!
//! Calls share one authenticated connection, made on first use and made again when it has
//! dropped; probes and sessions open their own.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use toolkit_core::secret::{SecretResolver, SecretString};
use toolkit_core::{Error, ErrorKind, Result};

use crate::config::{Auth, SshConfig};

/// The first bytes of the server's version line that are kept.
const MAX_BANNER: usize = 1024;

/// One authenticated connection.
pub(crate) struct Connected {
    pub(crate) handle: Handle<Verifier>,
    /// `SSH-2.0-OpenSSH_9.2p1 Debian-2`, as the server sent it.
    pub(crate) server_version: Option<String>,
    /// The host key the server proved it holds, after it was verified.
    pub(crate) host_key: PublicKey,
}

impl Connected {
    /// Ends the connection politely.
    pub(crate) async fn disconnect(&self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}

/// The credential used to log in, resolved now.
pub(crate) enum Credential {
    Key(SecretString),
    Password(SecretString),
}

/// The lazily connected handle of one tool.
pub(crate) struct Connection {
    pub(crate) config: SshConfig,
    namespace: String,
    secrets: Arc<dyn SecretResolver>,
    shared: Mutex<Option<Arc<Connected>>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("target", &self.config.target()).finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(config: SshConfig, namespace: String, secrets: Arc<dyn SecretResolver>) -> Self {
        Self { config, namespace, secrets, shared: Mutex::new(None) }
    }

    /// The key or password, resolved from the secret store now (so a rotated one is picked up).
    pub(crate) async fn credential(&self) -> Result<Credential> {
        match &self.config.auth {
            Auth::Key(sel) => Ok(Credential::Key(self.secrets.resolve(&self.namespace, sel).await?)),
            Auth::Password(sel) => Ok(Credential::Password(self.secrets.resolve(&self.namespace, sel).await?)),
        }
    }

    /// The connection calls share; connects on first use and again once it has dropped.
    pub(crate) async fn shared(&self) -> Result<Arc<Connected>> {
        // Held while connecting, so concurrent first calls share one attempt.
        let mut slot = self.shared.lock().await;
        if let Some(c) = slot.as_ref()
            && !c.handle.is_closed()
        {
            return Ok(c.clone());
        }
        let fresh = Arc::new(self.connect().await?);
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets the shared connection when it is still `stale`, so the next call reconnects.
    pub(crate) async fn forget(&self, stale: &Arc<Connected>) {
        let mut slot = self.shared.lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, stale)) {
            slot.take();
        }
    }

    /// Drops the shared connection.
    pub(crate) async fn shutdown(&self) {
        if let Some(c) = self.shared.lock().await.take() {
            c.disconnect().await;
        }
    }

    /// A new connection: TCP, handshake, host key check and authentication, all within
    /// `connectTimeout`.
    pub(crate) async fn connect(&self) -> Result<Connected> {
        Ok(self.connect_with_credential().await?.0)
    }

    /// A new connection and the credential it logged in with.
    pub(crate) async fn connect_with_credential(&self) -> Result<(Connected, Credential)> {
        let credential = self.credential().await?;
        let timeout = self.config.connect_timeout;
        match tokio::time::timeout(timeout, self.connect_with(&credential)).await {
            Ok(result) => result.map(|c| (c, credential)),
            Err(_) => Err(Error::new(ErrorKind::Timeout, "connect to ssh server")
                .with_context("server", self.config.target())
                .with_context("timeout", format!("{timeout:?}"))),
        }
    }

    async fn connect_with(&self, credential: &Credential) -> Result<Connected> {
        let c = &self.config;
        let tcp = TcpStream::connect((c.host.as_str(), c.port))
            .await
            .map_err(|e| self.error(ErrorKind::Unreachable, "connect to ssh server").with_source(e))?;
        let _ = tcp.set_nodelay(true);
        let banner = Arc::new(StdMutex::new(Vec::new()));
        let stream = Recording { inner: tcp, banner: banner.clone(), done: false };
        let verdict = Arc::new(StdMutex::new(HostKeyVerdict::default()));
        let verifier = Verifier { config: c.clone(), verdict: verdict.clone() };
        let config = Arc::new(client::Config { nodelay: true, ..client::Config::default() });
        let connected = client::connect_stream(config, stream, verifier).await;
        let verdict = std::mem::take(&mut *verdict.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(why) = verdict.refused {
            return Err(self.error(ErrorKind::Unreachable, why).set_retryable(false));
        }
        let mut handle = connected.map_err(|e| self.classify(e, "complete the ssh handshake"))?;
        let Some(host_key) = verdict.accepted else {
            return Err(self.error(ErrorKind::Internal, "complete the ssh handshake: the host key was never checked"));
        };
        let server_version = version_line(&banner.lock().unwrap_or_else(|p| p.into_inner()));
        self.authenticate(&mut handle, credential).await?;
        Ok(Connected { handle, server_version, host_key })
    }

    async fn authenticate(&self, handle: &mut Handle<Verifier>, credential: &Credential) -> Result<()> {
        let user = self.config.username.clone();
        let result = match credential {
            Credential::Password(password) => handle.authenticate_password(user, password.expose()).await,
            Credential::Key(pem) => {
                let key = parse_private_key(pem).map_err(|why| {
                    self.error(ErrorKind::Config, format!("read the private key of spec.config.sshKey: {why}"))
                })?;
                let hash = handle.best_supported_rsa_hash().await.map_err(|e| self.classify(e, "authenticate"))?;
                let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash.flatten());
                handle.authenticate_publickey(user, key).await
            }
        };
        let method = self.config.auth.method();
        match result {
            Ok(r) if r.success() => Ok(()),
            Ok(_) => Err(self.error(ErrorKind::Auth, format!("authenticate with {method}: the server refused it"))),
            Err(e) => Err(self.classify(e, &format!("authenticate with {method}"))),
        }
    }

    /// An error naming the server and user.
    pub(crate) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, message).with_context("server", self.config.target())
    }

    /// Maps a driver error to the toolkit's kinds. `action` reads well after "failed to".
    pub(crate) fn classify(&self, e: russh::Error, action: &str) -> Error {
        self.error(kind_of(&e), action.to_owned()).with_source(e)
    }
}

/// The kind of a driver error.
pub(crate) fn kind_of(e: &russh::Error) -> ErrorKind {
    use russh::Error as E;
    match e {
        E::NotAuthenticated | E::NoAuthMethod => ErrorKind::Auth,
        E::ConnectionTimeout | E::KeepaliveTimeout | E::InactivityTimeout | E::Elapsed(_) => ErrorKind::Timeout,
        E::IO(_)
        | E::Disconnect
        | E::HUP
        | E::Version
        | E::Kex
        | E::KexInit
        | E::NoCommonAlgo { .. }
        | E::UnknownKey
        | E::WrongServerSig
        | E::KeyChanged { .. }
        | E::PacketAuth
        | E::SendError
        | E::RecvError => ErrorKind::Unreachable,
        _ => ErrorKind::Upstream,
    }
}

/// Decodes an OpenSSH (or PKCS#8) private key. The text is never repeated in the reason.
fn parse_private_key(pem: &SecretString) -> std::result::Result<russh::keys::PrivateKey, String> {
    match russh::keys::decode_secret_key(pem.expose(), None) {
        Ok(key) => Ok(key),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            Err("it is encrypted; keys with a passphrase are not supported".into())
        }
        Err(_) => Err("it is not an OpenSSH or PKCS#8 private key".into()),
    }
}

/// The `SSH-` line of what the server sent first.
fn version_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().map(|l| l.trim_end_matches('\r')).find(|l| l.starts_with("SSH-")).map(str::to_owned)
}

/// What the host key check decided.
#[derive(Default)]
struct HostKeyVerdict {
    accepted: Option<PublicKey>,
    refused: Option<String>,
}

/// The client handler: checks the host key, fail closed.
pub(crate) struct Verifier {
    config: SshConfig,
    verdict: Arc<StdMutex<HostKeyVerdict>>,
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server: &PublicKeyOrCertificate) -> std::result::Result<bool, Self::Error> {
        let key = server.public_key();
        let decision = check_host_key(&self.config, &key);
        let mut verdict = self.verdict.lock().unwrap_or_else(|p| p.into_inner());
        match decision {
            Ok(()) => {
                verdict.accepted = Some(key);
                Ok(true)
            }
            Err(why) => {
                verdict.refused = Some(why);
                Ok(false)
            }
        }
    }
}

/// Whether `key` is the one the config pins and/or its known_hosts file lists; when both are
/// set, both must agree. The reason of a refusal is one line and names the presented key.
pub(crate) fn check_host_key(config: &SshConfig, key: &PublicKey) -> std::result::Result<(), String> {
    let presented = key.fingerprint(HashAlg::Sha256);
    let algorithm = key.algorithm().to_string();
    let failed = |detail: String| {
        format!("host key verification failed: the server presented {presented} ({algorithm}); {detail}")
    };
    if let Some(expected) = &config.host_key_fingerprint {
        let actual = key.fingerprint(expected.algorithm());
        if &actual != expected {
            return Err(failed(format!("spec.config.hostKeyFingerprint expects {expected}")));
        }
    }
    if let Some(path) = &config.known_hosts_file {
        let name = config.known_hosts_name();
        if let Err(e) = std::fs::metadata(path) {
            return Err(failed(format!("the known_hosts file {path} cannot be read: {e}")));
        }
        let recorded = russh::keys::known_hosts::known_host_keys_path(&config.host, config.port, path)
            .map_err(|e| failed(format!("the known_hosts file {path} cannot be read for {name}: {e}")))?;
        if !recorded.iter().any(|(_, k)| k.key_data() == key.key_data()) {
            let detail = if recorded.is_empty() {
                format!("{path} has no key for {name}")
            } else {
                let lines: Vec<String> = recorded.iter().map(|(line, _)| line.to_string()).collect();
                format!("it is not the key {path} lists for {name} (line {})", lines.join(", "))
            };
            return Err(failed(detail));
        }
    }
    Ok(())
}

/// The TCP stream, keeping a copy of the first bytes the server sends (its version line).
struct Recording<S> {
    inner: S,
    banner: Arc<StdMutex<Vec<u8>>>,
    done: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if !self.done && polled.is_ready() {
            let fresh = &buf.filled()[before..];
            let mut banner = self.banner.lock().unwrap_or_else(|p| p.into_inner());
            let room = MAX_BANNER.saturating_sub(banner.len());
            banner.extend_from_slice(&fresh[..fresh.len().min(room)]);
            let done = banner.len() >= MAX_BANNER || version_line(&banner).is_some_and(|_| banner.contains(&b'\n'));
            drop(banner);
            self.done = done;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_version_line() {
        assert_eq!(
            version_line(b"banner text\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x00").as_deref(),
            Some("SSH-2.0-OpenSSH_9.2p1 Debian-2")
        );
        assert_eq!(version_line(b"nothing"), None);
    }

    #[test]
    fn classifies_driver_errors() {
        assert_eq!(kind_of(&russh::Error::NotAuthenticated), ErrorKind::Auth);
        assert_eq!(kind_of(&russh::Error::UnknownKey), ErrorKind::Unreachable);
        assert_eq!(kind_of(&russh::Error::IO(std::io::ErrorKind::ConnectionRefused.into())), ErrorKind::Unreachable);
        assert_eq!(kind_of(&russh::Error::InactivityTimeout), ErrorKind::Timeout);
    }
}
