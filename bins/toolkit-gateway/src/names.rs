//! MCP tool names for toolkit tools.
//!
//! A tool in namespace `default` is served as `NAME`; any other as `NAMESPACE__NAME`; names MCP
//! does not allow are cleaned and tagged with a short hash. The rules live in
//! [`toolkit_runtime::describe::names`], shared with `toolkit tool schema`.

pub use toolkit_runtime::describe::names::{
    MAX_LEN, SEPARATOR, assign, assign_with, is_allowed, preferred, reference_of,
};
