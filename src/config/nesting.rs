//! A bound on how deep `${…}` expansions nest in one value. Expanding
//! `${A:-${A:-…}}` recurses once per level, so a value nested thousands
//! deep would overflow the stack where it is expanded (the native build,
//! the lowering of `from`); the loader refuses it first, with the value's
//! span, so `check` reports it and no later step meets it.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::codes;
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::located::Span;

/// The deepest `${…}` nesting a value may have. Docker sets no bound;
/// real files nest two or three deep.
pub const MAX_EXPANSION_DEPTH: usize = 64;

/// How deep `${…}` nests in `text`: each `${` opens a level, each `}`
/// closes the innermost open one.
pub fn expansion_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
                i += 1;
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// A diagnostic for every string value of the file nested too deep.
pub fn check_nesting(file: &SourceFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Ok(table) = DeTable::parse(&file.text) {
        table_values(table.get_ref(), &mut out);
    }
    out
}

/// Keys too: a key is written into the Dockerfile as well (a label's
/// name goes on the LABEL line), where import reads it back.
fn table_values(table: &DeTable<'_>, out: &mut Vec<Diagnostic>) {
    for (key, value) in table.iter() {
        text_of(key.get_ref(), key.span(), out);
        value_of(value, out);
    }
}

// The TOML reader bounds how deep tables and arrays nest, so this
// recursion is bounded too.
fn value_of(value: &Spanned<DeValue<'_>>, out: &mut Vec<Diagnostic>) {
    match value.get_ref() {
        DeValue::String(text) => text_of(text, value.span(), out),
        DeValue::Array(items) => items.iter().for_each(|item| value_of(item, out)),
        DeValue::Table(table) => table_values(table, out),
        _ => {}
    }
}

fn text_of(text: &str, span: std::ops::Range<usize>, out: &mut Vec<Diagnostic>) {
    let depth = expansion_depth(text);
    if depth > MAX_EXPANSION_DEPTH {
        out.push(
            Diagnostic::error(
                codes::NESTED_TOO_DEEP,
                format!(
                    "`${{…}}` nests {depth} deep here; at most {MAX_EXPANSION_DEPTH} is allowed"
                ),
            )
            .with_label(Label::primary(
                Span::new(span.start, span.end),
                "nested too deep",
            ))
            .with_help("use fewer nested defaults, or set the value through an arg"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_open_expansions() {
        assert_eq!(expansion_depth("plain } text"), 0);
        assert_eq!(expansion_depth("${A} ${B}"), 1);
        assert_eq!(expansion_depth("${A:-${B:-${C}}} ${D}"), 3);
        assert_eq!(expansion_depth("$${A:-x}"), 1);
    }

    #[test]
    fn a_key_nested_past_the_bound_is_reported_too() {
        let key = "${".repeat(100);
        let text = format!("[stages.a]\nfrom = \"alpine\"\nlabels = {{ \"{key}\" = \"\" }}\n");
        let found = check_nesting(&SourceFile::new("stages.toml", text.as_str()));
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn a_value_nested_past_the_bound_is_reported_with_its_span() {
        let nested = format!("{}x{}", "${A:-".repeat(5_000), "}".repeat(5_000));
        let text = format!("[stages.a]\nfrom = \"alpine\"\nenv = {{ B = \"{nested}\" }}\n");
        let found = check_nesting(&SourceFile::new("stages.toml", text.as_str()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, codes::NESTED_TOO_DEEP);
        let span = found[0].primary_span().unwrap_or_default();
        assert_eq!(&text[span.start..span.end], format!("\"{nested}\""));
        let fine = format!("{}x{}", "${A:-".repeat(64), "}".repeat(64));
        let text = format!("[stages.a]\nfrom = \"alpine\"\nenv = {{ B = \"{fine}\" }}\n");
        assert!(check_nesting(&SourceFile::new("stages.toml", text.as_str())).is_empty());
    }
}
