//! BuildKit's `Node.Dump` format: one `(keyword ["flags"] "args")` line per
//! instruction, which its parser tests compare against.

use super::quote::go_quote;
use super::syntax::{Dockerfile, Node};

/// The dump of a whole file, one line per instruction, each ending in `\n`.
pub fn dump(file: &Dockerfile) -> String {
    let mut out = String::new();
    for node in &file.nodes {
        out.push('(');
        out.push_str(&dump_node(node));
        out.push_str(")\n");
    }
    out
}

/// The dump of one instruction, without the surrounding parentheses.
pub fn dump_node(node: &Node) -> String {
    let mut s = node.keyword.to_lowercase();
    if !node.flags.is_empty() {
        let flags: Vec<String> = node.flags.iter().map(|f| go_quote(f)).collect();
        s.push_str(" [");
        s.push_str(&flags.join(" "));
        s.push(']');
    }
    if let Some(sub) = &node.sub {
        s.push_str(" (");
        s.push_str(&dump_node(sub));
        s.push(')');
    }
    for arg in &node.args {
        s.push(' ');
        s.push_str(&go_quote(arg));
    }
    s.trim().to_string()
}
