//! The call pipeline: catalog, validation, limits, invocation, redaction, counting and audit
