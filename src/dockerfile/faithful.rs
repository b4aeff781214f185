//! Whether printed text reads back as BuildKit read the original: the
//! last guard before `dockerfile fmt` writes a file. Some inputs have no
//! UTF-8 spelling that BuildKit reads the same way (a flag cut inside a
//! character whose remaining bytes then begin the next word); those are
//! refused rather than rewritten with another meaning.

use super::codes;
use super::dump::dump_node;
use super::parse;
use crate::diagnostics::{Diagnostic, Label};

/// `None` when `printed` reads as `original` does, instruction by
/// instruction; else a diagnostic on the first instruction that would
/// change.
pub fn changed_meaning(original: &str, printed: &str) -> Option<Diagnostic> {
    let before = parse(original).ok()?;
    let refuse = |span, why: String| {
        Some(
            Diagnostic::error(
                codes::FMT_CHANGES_MEANING,
                "fmt cannot print this file in a form BuildKit reads the same way",
            )
            .with_label(Label::primary(span, why))
            .with_help(
                "the file is left as it is; the label shows the first instruction whose printed form BuildKit would read otherwise (a flag cut inside a character by a 0x85 or 0xA0 byte is one such case: write the value without that character)",
            ),
        )
    };
    let after = match parse(printed) {
        Ok(after) => after,
        Err(d) => {
            let span = before.nodes.first().map(|n| n.span).unwrap_or_default();
            return refuse(span, format!("printed, it would not parse: {}", d.message));
        }
    };
    for (i, node) in before.nodes.iter().enumerate() {
        let (was, now) = (
            dump_node(node),
            after.nodes.get(i).map(|n| dump_node(n)).unwrap_or_default(),
        );
        if was != now || node.heredocs != after.nodes[i].heredocs {
            return refuse(
                node.span,
                format!("BuildKit reads `{was}`; printed, `{now}`"),
            );
        }
    }
    if after.nodes.len() != before.nodes.len() {
        let span = before.nodes.last().map(|n| n.span).unwrap_or_default();
        return refuse(
            span,
            "printed, the file has another number of instructions".to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::changed_meaning;

    #[test]
    fn tells_a_kept_meaning_from_a_changed_one() {
        let original = "FROM a\nrun --mount=type=cache,target=/x true\n";
        assert_eq!(
            changed_meaning(original, "FROM a\nRUN --mount=type=cache,target=/x true\n"),
            None
        );
        let changed = changed_meaning(original, "FROM a\nRUN --mount=type=cache,target=/y true\n")
            .expect("changed");
        assert_eq!(changed.labels[0].span.start, 7);
    }
}
