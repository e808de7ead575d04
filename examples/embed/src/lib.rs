//! Embedding toolkit as a library
