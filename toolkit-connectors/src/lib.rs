//! Connectors facade: one optional crate per integration type
