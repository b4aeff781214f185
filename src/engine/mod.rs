//! Everything that talks to the Docker Engine: the connection, one client
//! wrapper over bollard, the build context (`.dockerignore`, the context tar,
//! COPY sources that would escape it), safe artifact extraction, build
//! progress and the build back ends.
//!
//! Reads the checked model (`crate::config::model`) and diagnostics; nothing
//! in `config/`, `check` or `convert/` imports this module. Only `progress`
//! writes to the terminal.

pub mod client;
pub mod codes;
pub mod connection;
pub mod context;
pub mod dockerignore;
pub mod extract;
pub mod native;
