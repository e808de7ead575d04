//! Policy: read-only SQL classification, command safety and approvals
