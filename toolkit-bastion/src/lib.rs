//! On-demand sessions with injected credentials, heartbeats and an idle timeout
