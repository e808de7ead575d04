//! The toolkit CLI
