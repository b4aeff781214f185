//! Which image configuration instructions import keeps in place, as
//! config steps, instead of folding them into the stage keys (which apply
//! after the steps). Moving an instruction after the steps is harmless
//! unless a later instruction changes what it reads:
//! - an ENV or ARG defining a variable a LABEL, EXPOSE, VOLUME or
//!   STOPSIGNAL expands (at its place the variable had another value, or
//!   none);
//! - a SHELL after a shell-form CMD or ENTRYPOINT, which Docker stores
//!   with the shell of its place.
//!
//! An instruction kept in place also keeps in place the earlier ones that
//! set the same thing (a label key, the command, the entrypoint, the stop
//! signal): moved after it, they would override it. Everything else stays
//! in the readable stage keys.
//!
//! CMD, ENTRYPOINT, HEALTHCHECK and ONBUILD keep `$` for the container (or
//! the later build) to expand, so their text reads no build variable.

use std::collections::HashSet;

use super::context::Context;
use super::steps;
use crate::check::variable_uses;
use crate::dockerfile::Node;

/// What one configuration instruction sets, for telling which others it
/// would override.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Setting {
    Label(String),
    /// A label whose key is given by a variable: it may be any key.
    AnyLabel,
    Cmd,
    Entrypoint,
    StopSignal,
}

/// The indexes into `nodes` (one stage's instructions, FROM first) of the
/// configuration instructions to keep in place.
pub fn kept_in_place(nodes: &[Node], cx: &Context) -> HashSet<usize> {
    let mut kept = HashSet::new();
    let mut overridden: HashSet<Setting> = HashSet::new();
    for index in (1..nodes.len()).rev() {
        let node = &nodes[index];
        let Some(key) = super::config::key_of(&node.name()) else {
            continue;
        };
        let sets = settings(node, key);
        let overrides_kept = sets.iter().any(|s| {
            overridden.contains(s)
                || matches!(s, Setting::Label(_) | Setting::AnyLabel)
                    && overridden.contains(&Setting::AnyLabel)
                || *s == Setting::AnyLabel
                    && overridden.iter().any(|o| matches!(o, Setting::Label(_)))
        });
        if overrides_kept || changed_later(node, key, &nodes[index + 1..], cx) {
            kept.insert(index);
            overridden.extend(sets);
        }
    }
    kept
}

fn settings(node: &Node, key: &str) -> Vec<Setting> {
    match key {
        "labels" => node
            .args
            .chunks(3)
            .map(|pair| {
                if pair[0].contains('$') {
                    Setting::AnyLabel
                } else {
                    Setting::Label(pair[0].to_string())
                }
            })
            .collect(),
        "cmd" => vec![Setting::Cmd],
        "entrypoint" => vec![Setting::Entrypoint],
        "stop-signal" => vec![Setting::StopSignal],
        _ => Vec::new(),
    }
}

/// Whether an instruction of `later` changes what `node` reads.
fn changed_later(node: &Node, key: &str, later: &[Node], cx: &Context) -> bool {
    match key {
        "cmd" | "entrypoint" => !node.json && later.iter().any(|n| n.name() == "shell"),
        "labels" | "expose" | "volumes" | "stop-signal" => {
            let reads = variable_uses(&node.original);
            !reads.is_empty()
                && later
                    .iter()
                    .any(|n| defined(n, cx).iter().any(|d| reads.contains(d)))
        }
        _ => false,
    }
}

/// The variables an ENV or ARG defines.
fn defined(node: &Node, cx: &Context) -> Vec<String> {
    match node.name().as_ref() {
        "env" => steps::pairs(node, cx)
            .map(|pairs| pairs.into_iter().map(|(k, _)| k.value).collect())
            .unwrap_or_default(),
        "arg" => steps::args(node, cx)
            .map(|decls| decls.into_iter().map(|d| d.name.value).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
