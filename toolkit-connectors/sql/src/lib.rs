#![doc = include_str!("../README.md")]

pub mod config;
pub mod connect;
pub mod invoke;
pub mod permissions;
pub mod session;
pub mod tool;

pub use config::{ServerConfig, ServerDefaults, Username};
pub use connect::{Credentials, Phase, with_tool};
pub use invoke::Outcome;
pub use permissions::{GrantRule, HeldPrivilege, Revocation, RuleScope, RuleSyntax, undeclared};
pub use session::{SessionSettings, SqlSession};
pub use tool::{ConnectionOf, ServerTool, SqlEngine};
