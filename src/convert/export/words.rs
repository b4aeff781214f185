//! Spelling values as Dockerfile words: bare or double-quoted values, JSON
//! arrays, flag values and rest-of-line arguments. Each refuses, with a
//! diagnostic on the value's span, what no Dockerfile spelling can carry.

use crate::convert::codes;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// A value of ENV, LABEL or ARG: bare when the lexer reads it back as is,
/// else double-quoted with `"` and `\` escaped. `$VAR` stays an expansion
/// and `\$`, stages.toml's literal dollar, stays `\$`, which the lexer also
/// reads as a literal dollar inside double quotes.
pub fn value(text: &str, span: Span, what: &str) -> Result<String, Diagnostic> {
    single_line(text, span, what)?;
    if is_bare(text) {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || (c == '\\' && chars.peek() != Some(&'$')) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A word the Dockerfile lexer reads back unchanged when written bare.
fn is_bare(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\' | '`'))
}

/// A JSON array of strings, as BuildKit's exec form and JSON paths read it.
pub fn json_array<S: AsRef<str>>(items: &[S]) -> String {
    let words: Vec<String> = items
        .iter()
        .map(|s| serde_json::Value::String(s.as_ref().to_owned()).to_string())
        .collect();
    format!("[{}]", words.join(", "))
}

/// A `--flag=value` word: the value must hold no whitespace.
pub fn flag(name: &str, text: &str, span: Span) -> Result<String, Diagnostic> {
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return Err(inexpressible(
            span,
            format!("`--{name}` cannot take an empty value or one with whitespace"),
        ));
    }
    Ok(format!("--{name}={text}"))
}

/// An argument that runs to the end of the line (WORKDIR, USER, shell-form
/// CMD…): one line, no surrounding whitespace, no trailing escape character.
pub fn rest_of_line(text: &str, span: Span, what: &str) -> Result<String, Diagnostic> {
    single_line(text, span, what)?;
    if text.trim().is_empty() {
        return Err(inexpressible(span, format!("{what} cannot be empty")));
    }
    if text.trim() != text {
        return Err(inexpressible(
            span,
            format!("{what} cannot start or end with whitespace in a Dockerfile"),
        ));
    }
    if text.ends_with('\\') {
        return Err(inexpressible(
            span,
            format!("{what} cannot end with `\\`: the Dockerfile would join it with the next line"),
        ));
    }
    Ok(text.to_owned())
}

/// Paths are written as a JSON array when a bare list would split or
/// misread them: a bare word starting with `<<` opens a heredoc, and a
/// line ending in the escape joins the next line.
pub fn needs_json_paths<S: AsRef<str>>(paths: &[S]) -> bool {
    paths.iter().any(|p| {
        let p = p.as_ref();
        p.is_empty() || p.chars().any(char::is_whitespace) || p.starts_with("<<")
    }) || paths.first().is_some_and(|p| p.as_ref().starts_with('['))
        || paths.last().is_some_and(|p| p.as_ref().ends_with('\\'))
}

/// A list of paths: bare words, or a JSON array when needed.
pub fn paths<S: AsRef<str>>(paths: &[S], span: Span) -> Result<String, Diagnostic> {
    for p in paths {
        single_line(p.as_ref(), span, "a path")?;
    }
    if needs_json_paths(paths) {
        Ok(json_array(paths))
    } else {
        let words: Vec<&str> = paths.iter().map(AsRef::as_ref).collect();
        Ok(words.join(" "))
    }
}

fn single_line(text: &str, span: Span, what: &str) -> Result<(), Diagnostic> {
    if text.contains(['\n', '\r']) {
        return Err(inexpressible(
            span,
            format!("{what} spans several lines, which this Dockerfile instruction cannot hold"),
        ));
    }
    Ok(())
}

pub fn inexpressible(span: Span, message: String) -> Diagnostic {
    Diagnostic::error(codes::INEXPRESSIBLE, message)
        .with_label(Label::primary(span, "this value"))
        .with_help("write the value on one line, without the characters named above")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bare_or_quoted() {
        let span = Span::default();
        assert_eq!(value("1.2", span, "v").ok().as_deref(), Some("1.2"));
        assert_eq!(
            value("${A}/bin", span, "v").ok().as_deref(),
            Some("${A}/bin")
        );
        assert_eq!(value("a b", span, "v").ok().as_deref(), Some("\"a b\""));
        assert_eq!(value("", span, "v").ok().as_deref(), Some("\"\""));
        assert_eq!(
            value(r#"say "hi"\"#, span, "v").ok().as_deref(),
            Some(r#""say \"hi\"\\""#)
        );
        assert!(value("a\nb", span, "v").is_err());
        assert_eq!(
            value(r"\$HOME/x", span, "v").ok().as_deref(),
            Some(r#""\$HOME/x""#)
        );
    }

    #[test]
    fn json_arrays_escape_like_json() {
        assert_eq!(json_array(&["a", "b \"c\""]), r#"["a", "b \"c\""]"#);
    }

    #[test]
    fn paths_with_spaces_use_json() {
        let span = Span::default();
        assert_eq!(paths(&["a", "b/"], span).ok().as_deref(), Some("a b/"));
        assert_eq!(
            paths(&["my file", "/x/"], span).ok().as_deref(),
            Some(r#"["my file", "/x/"]"#)
        );
    }

    #[test]
    fn a_last_path_ending_in_the_escape_uses_json() {
        let span = Span::default();
        assert_eq!(
            paths(&["o", "/\\\\"], span).ok().as_deref(),
            Some(r#"["o", "/\\\\"]"#)
        );
        assert_eq!(
            paths(&["a\\b", "/x/"], span).ok().as_deref(),
            Some("a\\b /x/")
        );
    }

    #[test]
    fn rest_of_line_refuses_a_trailing_escape() {
        assert!(rest_of_line("echo \\", Span::default(), "cmd").is_err());
        assert!(rest_of_line("echo", Span::default(), "cmd").is_ok());
    }
}
