//! What converting one instruction needs to know about the whole file, and
//! the diagnostics it raises.

use crate::config::model::ArgDecl;
use crate::convert::codes;
use crate::diagnostics::{Diagnostic, Label};
use crate::dockerfile::Node;

pub struct Context {
    pub escape: char,
    /// Every stage's name (given or generated), by index, lower-cased.
    pub stage_names: Vec<String>,
    /// The index of the stage being converted.
    pub current: usize,
    /// The meta-ARGs (global args), which a FROM line reads.
    pub globals: Vec<ArgDecl>,
}

impl Context {
    /// The stage a `--from` (or a mount's `from`) names: a stage index
    /// earlier than the current stage, or a stage name; `None` for an image.
    pub fn stage_ref(&self, text: &str) -> Option<String> {
        if let Ok(index) = text.parse::<usize>() {
            return (index < self.current)
                .then(|| self.stage_names.get(index).cloned())
                .flatten();
        }
        let lower = text.to_ascii_lowercase();
        self.stage_names.iter().find(|n| **n == lower).cloned()
    }
}

pub fn unsupported(node: &Node, what: &str) -> Diagnostic {
    Diagnostic::error(
        codes::UNSUPPORTED,
        format!("{what} has no stages.toml form"),
    )
    .with_label(Label::primary(node.span, "this instruction"))
    .with_help("rewrite the instruction without it, then import again")
}

pub fn malformed(node: &Node, what: &str) -> Diagnostic {
    Diagnostic::error(codes::MALFORMED, what.to_owned())
        .with_label(Label::primary(node.span, "this instruction"))
        .with_help("BuildKit rejects this instruction too; fix it, then import again")
}
