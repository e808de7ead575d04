//! The local terminal while a session's client runs in a pod: raw mode (keys go to the remote
//! terminal as typed, Ctrl-C included) restored however the session ends, the window size, and
//! its changes forwarded.

use std::io::IsTerminal as _;

use futures::SinkExt as _;
use futures::channel::mpsc::Sender;
use kube::api::TerminalSize;

/// Raw mode on this process's terminal until dropped; nothing when stdin is not a terminal.
pub(crate) struct RawMode(bool);

impl RawMode {
    pub(crate) fn enter() -> Self {
        Self(std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// The window's columns and rows, when stdout is a terminal.
pub(crate) fn size() -> Option<(u16, u16)> {
    std::io::stdout().is_terminal().then(crossterm::terminal::size).and_then(Result::ok)
}

/// Sends the window's size each time it changes (SIGWINCH) until the receiver is gone.
pub(crate) async fn forward_resizes(sender: &mut Sender<TerminalSize>) {
    let Ok(mut changes) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else {
        return;
    };
    while changes.recv().await.is_some() {
        if let Some((width, height)) = size()
            && sender.send(TerminalSize { width, height }).await.is_err()
        {
            return;
        }
    }
}
