//! The comments written before each instruction. The parser keeps what
//! BuildKit keeps (the last block, cut at an empty `#` line); when the
//! source text is at hand, every comment line between two instructions is
//! taken instead, so a licence header or a spaced-out note survives whole.

use std::collections::HashMap;

use crate::dockerfile::{Dockerfile, Node};

pub struct Comments {
    /// By the byte offset where the instruction starts.
    before: HashMap<usize, Vec<String>>,
    pub trailing: Vec<String>,
}

impl Comments {
    pub fn new(file: &Dockerfile, source: Option<&str>) -> Self {
        let Some(text) = source else {
            return Self {
                before: file
                    .nodes
                    .iter()
                    .map(|n| {
                        (
                            n.span.start,
                            n.comments.iter().map(|c| c.to_string()).collect(),
                        )
                    })
                    .collect(),
                trailing: file.trailing_comments.clone(),
            };
        };
        let mut before = HashMap::new();
        let mut from = 0;
        for (index, node) in file.nodes.iter().enumerate() {
            let gap = text.get(from..node.span.start).unwrap_or("");
            before.insert(node.span.start, comment_lines(gap, index == 0));
            from = node.span.end;
        }
        let tail = text.get(from..).unwrap_or("");
        Self {
            before,
            trailing: comment_lines(tail, file.nodes.is_empty()),
        }
    }

    pub fn of(&self, node: &Node) -> &[String] {
        self.before
            .get(&node.span.start)
            .map_or(&[][..], Vec::as_slice)
    }
}

/// The `#` lines of a gap, without `#` and one following space; parser
/// directives at the top of the file are left out. A blank line between
/// blocks becomes an empty comment line; trailing ones are dropped.
fn comment_lines(gap: &str, file_start: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_directives = file_start;
    for line in gap.lines() {
        let trimmed = line.trim();
        let Some(body) = trimmed.strip_prefix('#') else {
            in_directives = false;
            // A blank line between two comment blocks stays visible as `#`.
            if trimmed.is_empty() && lines.last().is_some_and(|l: &String| !l.is_empty()) {
                lines.push(String::new());
            }
            continue;
        };
        if in_directives && is_directive(body) {
            continue;
        }
        in_directives = false;
        let body = body.strip_prefix(' ').unwrap_or(body).trim_end();
        lines.push(body.to_owned());
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn is_directive(body: &str) -> bool {
    let Some((name, _)) = body.split_once('=') else {
        return false;
    };
    matches!(
        name.trim().to_ascii_lowercase().as_str(),
        "syntax" | "escape" | "check"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    #[test]
    fn whole_blocks_survive_and_directives_do_not() {
        let text =
            "# syntax=docker/dockerfile:1\n# Copyright\n#\n# Licence\n\nFROM alpine\n# after\n";
        let file = parse(text).expect("parses");
        let comments = Comments::new(&file, Some(text));
        assert_eq!(comments.of(&file.nodes[0]), ["Copyright", "", "Licence"]);
        assert_eq!(comments.trailing, ["after"]);
    }
}
