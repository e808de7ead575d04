//! The http connector
