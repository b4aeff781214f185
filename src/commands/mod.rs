//! One module per subcommand. Each exposes `run(args) -> miette::Result<Exit>`:
//! problems it has already reported come back as `Exit::Failure`; an `Err`
//! is a usage or I/O error that `main` renders (exit 2).

pub mod build;
mod build_explain;
pub mod build_remote;
pub mod build_report;
pub mod builders;
pub mod cache;
pub mod check;
pub mod common;
pub mod completion_names;
pub mod completions;
mod debug_shell;
mod debug_terminal;
mod diff;
pub mod dockerfile;
pub mod export;
pub mod graph;
pub mod import;
pub mod init;
pub mod lint;
pub mod lock;
mod locked_build;
pub mod migrate;
pub mod output;
pub mod plan;
pub mod schema;
mod schema_beside;
pub mod source_date;
pub mod verify_reproducible;
pub mod why;
mod why_json;

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; warnings may have been printed.
    Success,
    /// Problems were found and reported (errors in a file, a failed build, a stale file).
    Failure,
    /// A usage or I/O error.
    Usage,
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Interrupted => 130,
        }
    }
}
