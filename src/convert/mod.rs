//! Conversions: checked project → Dockerfile (export), Dockerfile → project
//! (import), builder pattern → project (migrate).
//!
//! Reads `config::model`; never talks to the engine or the terminal.

pub mod codes;
pub mod export;

pub use export::{ExportOptions, ExportedDockerfile, ExportedStep, export_dockerfile};
