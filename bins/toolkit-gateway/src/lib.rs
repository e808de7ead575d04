//! The toolkit MCP gateway
