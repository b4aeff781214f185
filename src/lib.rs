//! `stages`: declarative container builds.
//!
//! The pipeline: `config` (stages.toml as written) → `check` (rules and
//! lowering to the checked model) → `graph` (the stage DAG) → back ends:
//! `convert` (Dockerfile export, import, builder-pattern migration) and
//! `engine` (builds on the Docker Engine); `lint` runs BuildKit's build
//! checks and graph rules on either input. `dockerfile` is the Dockerfile
//! language alone. Only `cli` and `commands` know about the terminal.

pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod convert;
pub mod diagnostics;
pub mod dockerfile;
pub mod engine;
pub mod graph;
pub mod input;
pub mod lint;
pub mod located;
pub mod lockfile;
