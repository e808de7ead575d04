//! Reloading on manifest changes: the `--tools` paths (or, with `--kubernetes`, the cluster's
//! Tools, ToolRegistries, ApprovalPolicies and ConfigMaps) are watched, a burst of events is
//! debounced, then the catalog is reloaded and clients are told when their tool list changed.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::gateway::Gateway;

/// Quiet time after the last change before reloading: editors write a file in several steps.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// A watched `--tools` path.
struct Root {
    path: PathBuf,
    is_dir: bool,
}

/// Watches the gateway's manifest paths until `stop` is cancelled. A path that cannot be
/// watched is logged and skipped: the gateway keeps serving what it loaded.
pub fn spawn(gateway: Gateway, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let paths = gateway.watched_paths();
        if paths.is_empty() {
            return;
        }
        // Adding a recursive watch walks the folders: file system work, off the async threads.
        let started = tokio::task::spawn_blocking(move || start(&paths, tx)).await;
        let Ok(Some((watcher, roots))) = started else { return };
        let _watcher = watcher;
        let state_dir = absolute(gateway.state_dir());
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                event = rx.recv() => match event {
                    None => return,
                    Some(Ok(event)) if relevant(&event, &roots, &state_dir) => {}
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::warn!("file watcher: {e}");
                        continue;
                    }
                },
            }
            // Wait for a quiet period, whatever else arrives meanwhile.
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(DEBOUNCE) => break,
                    event = rx.recv() => if event.is_none() { return },
                }
            }
            match gateway.load().await {
                Ok(true) => tracing::info!("tool list changed; clients notified"),
                Ok(false) => tracing::debug!("manifests reloaded; tool list unchanged"),
                Err(e) => tracing::warn!("reload manifests (still serving the previous catalog): {e}"),
            }
        }
    })
}

/// Follows the cluster's changes until `stop` is cancelled, reloading after each burst; a
/// watch that fails retries with backoff, and the gateway keeps serving what it loaded.
#[cfg(feature = "kubernetes")]
pub fn spawn_cluster(gateway: Gateway, source: toolkit_kube::ClusterSource, stop: CancellationToken) -> JoinHandle<()> {
    use futures::StreamExt as _;
    tokio::spawn(async move {
        let mut changes = source.changes();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                change = changes.next() => if change.is_none() { return },
            }
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(DEBOUNCE) => break,
                    change = changes.next() => if change.is_none() { return },
                }
            }
            match gateway.load().await {
                Ok(true) => tracing::info!("tool list changed in the cluster; clients notified"),
                Ok(false) => tracing::debug!("cluster objects reloaded; tool list unchanged"),
                Err(e) => tracing::warn!("reload from the cluster (still serving the previous catalog): {e}"),
            }
        }
    })
}

type Events = mpsc::UnboundedSender<notify::Result<Event>>;

fn start(paths: &[PathBuf], tx: Events) -> Option<(notify::RecommendedWatcher, Vec<Root>)> {
    let watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        // Called on the watcher's own thread; an unbounded send never blocks it.
        let _ = tx.send(event);
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("manifest changes will not be picked up: start the file watcher: {e}");
            return None;
        }
    };
    let roots: Vec<Root> = paths.iter().map(|p| absolute(p)).map(|path| Root { is_dir: path.is_dir(), path }).collect();
    for root in &roots {
        // A file is watched through its folder, as editors replace files by renaming.
        let (target, mode) = if root.is_dir {
            (root.path.clone(), RecursiveMode::Recursive)
        } else {
            (root.path.parent().map_or_else(|| root.path.clone(), Path::to_path_buf), RecursiveMode::NonRecursive)
        };
        match watcher.watch(&target, mode) {
            Ok(()) => tracing::debug!(path = %target.display(), "watching manifests"),
            Err(e) => tracing::warn!(path = %target.display(), "manifest changes will not be picked up: {e}"),
        }
    }
    Some((watcher, roots))
}

/// Whether an event can change the catalog: a write, creation, removal or rename of a manifest
/// file or folder under a watched path, outside hidden entries and the state directory.
fn relevant(event: &Event, roots: &[Root], state_dir: &Path) -> bool {
    use notify::event::{AccessKind, AccessMode};
    let kind_matters = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    kind_matters && event.paths.iter().any(|p| manifest_path(p, roots, state_dir))
}

fn manifest_path(path: &Path, roots: &[Root], state_dir: &Path) -> bool {
    if path.starts_with(state_dir) {
        return false;
    }
    roots.iter().any(|root| {
        if !root.is_dir {
            return path == root.path;
        }
        let Ok(relative) = path.strip_prefix(&root.path) else { return false };
        let hidden =
            relative.components().any(|c| matches!(c, Component::Normal(n) if n.to_string_lossy().starts_with('.')));
        // A name without an extension may be a folder (created, removed or renamed).
        let extension_ok = path.extension().is_none_or(|e| MANIFEST_EXTENSIONS.iter().any(|m| e == *m));
        !hidden && extension_ok
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, CreateKind, ModifyKind};

    use super::*;

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn manifest_writes_count() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let roots = [Root { path: root.clone(), is_dir: true }];
        let state = root.join("state");
        let p = |name: &str| root.join(name).to_string_lossy().into_owned();
        assert!(relevant(&event(EventKind::Create(CreateKind::File), &p("a.yaml")), &roots, &state));
        assert!(relevant(&event(EventKind::Modify(ModifyKind::Any), &p("sub")), &roots, &state));
        assert!(!relevant(&event(EventKind::Modify(ModifyKind::Any), &p(".a.yaml.swp")), &roots, &state));
        assert!(!relevant(&event(EventKind::Modify(ModifyKind::Any), &p("notes.txt")), &roots, &state));
        assert!(!relevant(&event(EventKind::Modify(ModifyKind::Any), &p("state/state.db")), &roots, &state));
        assert!(!relevant(&event(EventKind::Access(AccessKind::Read), &p("a.yaml")), &roots, &state));
    }
}
