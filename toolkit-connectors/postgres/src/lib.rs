//! The postgres connector
