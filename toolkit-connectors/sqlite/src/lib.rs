//! The sqlite connector
