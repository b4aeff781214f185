//! The Dockerfile language alone, in BuildKit's three layers: `parser`
//! (text → [`Node`]s with lines, spans, comments and heredocs), `instructions`
//! (nodes → typed [`Instruction`]s grouped into [`Stage`]s) and `printer`
//! (instructions → canonical text). `dump` prints BuildKit's test format.
//! Knows nothing of stages.toml: never imports `config`.

pub mod codes;
pub mod directives;
pub mod dump;
pub mod faithful;
pub mod heredoc;
pub mod keyword;
pub mod line_parsers;
pub mod outline;
pub mod parser;
pub mod printer;
pub mod quote;
pub mod split;
pub mod syntax;
mod text;

pub use dump::dump;
pub use parser::parse;
pub use printer::{print, print_instruction};
pub use stages::{Program, Stage, parse_program, read};
pub use syntax::{Args, Directive, Dockerfile, Flags, Heredoc, Node, Texts};
pub mod instructions;
pub mod stages;
