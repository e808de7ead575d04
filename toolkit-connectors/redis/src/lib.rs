//! The redis connector
