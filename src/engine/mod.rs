//! Everything that talks to the Docker Engine: the connection, one client
//! wrapper over bollard, the build context (`.dockerignore`, the context tar,
//! COPY sources that would escape it), safe artifact extraction, build
//! progress and the build back ends.
//!
//! Reads the checked model (`crate::config::model`) and diagnostics; nothing
//! in `config/`, `check` or `convert/` imports this module. Only `progress`
//! writes to the terminal.

pub mod backend;
pub mod build_log;
pub mod client;
pub mod codes;
pub mod connection;
pub mod context;
pub mod dockerignore;
pub mod extract;
#[cfg(test)]
pub mod fake;
pub mod image_labels;
pub mod interrupt;
pub mod native;
pub mod progress;
pub mod source_check;
pub mod targets;
