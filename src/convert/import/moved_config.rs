//! Image configuration goes into stage keys, which apply after the steps:
//! moving a LABEL, EXPOSE, VOLUME or STOPSIGNAL past a later instruction is
//! harmless unless that instruction changes what it reads. This tracks
//! what the configuration seen so far reads, and finds the instructions
//! that would change it:
//! - an ENV or ARG defining a variable the configuration expands (at its
//!   place the variable had another value, or none);
//! - a SHELL after a shell-form CMD or ENTRYPOINT, which Docker stores
//!   with the shell of its place.
//!
//! CMD, ENTRYPOINT, HEALTHCHECK and ONBUILD keep `$` for the container (or
//! the later build) to expand, so their text reads no build variable.

use super::context::{Context, unsupported};
use super::steps;
use crate::check::variable_uses;
use crate::diagnostics::{Diagnostic, Label};
use crate::dockerfile::Node;
use crate::located::Span;

#[derive(Default)]
pub struct MovedConfig {
    /// Variables the configuration expands, with the instruction that reads each.
    reads: Vec<(String, Span)>,
    /// The first shell-form CMD or ENTRYPOINT.
    shell_form: Option<Span>,
}

impl MovedConfig {
    /// Records a configuration instruction folded into the stage keys.
    pub fn saw(&mut self, node: &Node, key: &str) {
        match key {
            "cmd" | "entrypoint" => {
                if !node.json {
                    self.shell_form.get_or_insert(node.span);
                }
            }
            "healthcheck" | "onbuild" | "maintainer" => {}
            _ => {
                for name in variable_uses(&node.original) {
                    if !self.reads.iter().any(|(n, _)| *n == name) {
                        self.reads.push((name, node.span));
                    }
                }
            }
        }
    }

    /// The error for `node` when moving the configuration seen so far
    /// after it would change that configuration.
    pub fn changed_by(&self, node: &Node, cx: &Context) -> Option<Diagnostic> {
        let defined: Vec<String> = match node.name().as_ref() {
            "env" => steps::pairs(node, cx)
                .ok()?
                .into_iter()
                .map(|(k, _)| k.value)
                .collect(),
            "arg" => steps::args(node, cx)
                .ok()?
                .into_iter()
                .map(|d| d.name.value)
                .collect(),
            "shell" => {
                let span = self.shell_form?;
                return Some(
                    unsupported(
                        node,
                        "a SHELL after a shell-form CMD or ENTRYPOINT (stages.toml applies `cmd` and `entrypoint` after the steps, with the last shell)",
                    )
                    .with_label(Label::secondary(span, "this command runs with the shell before the SHELL")),
                );
            }
            _ => return None,
        };
        let (name, span) = self
            .reads
            .iter()
            .find(|(read, _)| defined.iter().any(|d| d == read))?;
        Some(
            unsupported(
                node,
                &format!(
                    "an ENV or ARG setting `{name}` after image configuration that reads it (stages.toml applies image configuration after the steps, where `{name}` has this later value)"
                ),
            )
            .with_label(Label::secondary(*span, format!("reads `{name}` here"))),
        )
    }
}
