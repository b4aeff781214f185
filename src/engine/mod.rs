//! Everything that talks to the Docker Engine: the connection, one client
//! wrapper over bollard (`client::Engine`), the build context
//! (`.dockerignore`, the context tar, COPY sources that would escape it),
//! the build back ends (`backend`), building targets with any of them
//! (`targets`: tags, artifact export through safe extraction), stopping
//! cleanly (`interrupt`), what a project keeps between builds
//! (`project_state`, `build_lock`, `leftovers` of killed builds) and build
//! progress.
//!
//! Reads the checked model (`crate::config::model`) and diagnostics; nothing
//! in `config/`, `check` or `convert/` imports this module. Only `progress`
//! writes to the terminal.

pub mod artifacts;
pub mod backend;
pub mod build_lock;
pub mod build_log;
pub mod build_record;
pub mod build_summary;
pub mod buildkit;
pub mod client;
pub mod codes;
pub mod connection;
pub mod context;
pub mod context_sources;
pub mod docker_context;
pub mod dockerignore;
pub mod extract;
#[cfg(test)]
pub mod fake;
pub mod forgotten_projects;
pub mod image_difference;
pub mod image_facts;
pub mod image_labels;
pub mod interrupt;
pub mod leftovers;
pub mod lock_sources;
pub mod native;
pub mod output_dir;
pub mod planned_tar;
pub mod progress;
pub mod project_state;
pub mod registry;
pub mod report;
pub mod source_check;
pub mod tar_stream;
pub mod targets;
pub mod user_hint;
