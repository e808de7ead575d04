//! Local state store (SQLite): tool status, probe history, audit, sessions
