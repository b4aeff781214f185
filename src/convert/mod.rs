//! Conversions: checked project → Dockerfile (export), Dockerfile → project
//! (import), builder pattern → project (migrate).
//!
//! Reads `config::model`; never talks to the engine or the terminal.

pub mod codes;
pub mod export;
pub(crate) mod heredoc;
pub mod import;
pub mod migrate;

pub use export::{ExportOptions, ExportedDockerfile, ExportedStep, export_dockerfile};
pub use import::{
    ImportOptions, Imported, import_dockerfile, import_dockerfile_source, trigger_step,
};
