//! Reading `stages.toml` text into `raw::Manifest`. TOML syntax errors and
//! shape errors (unknown keys, wrong types, missing keys) become diagnostics
//! with the span the TOML parser reports. Knows nothing of the rules the
//! checker applies afterwards.

use super::codes;
use super::entries::{blank, entries, entry_at};
use super::key_forms::key_form;
use super::nesting::check_nesting;
use super::raw::Manifest;
use crate::diagnostics::{Diagnostic, Label, SourceFile, did_you_mean};
use crate::located::Span;

/// How many shape problems one run reports before giving up.
const MAX_SHAPE_PROBLEMS: usize = 50;

/// Parses the file's text as a manifest, or explains why it is not one.
///
/// A syntax error stops the reading, and so does a value nesting `${…}`
/// too deep (see [`super::nesting`]). The TOML deserializer stops at the
/// first shape problem (unknown key, wrong type), so after reporting one
/// the loader blanks out its entry, keeping every offset, and reads again:
/// one run reports every shape problem it can reach.
pub fn load_manifest(file: &SourceFile) -> Result<Manifest, Vec<Diagnostic>> {
    // Parsing into a plain table first tells syntax errors apart from shape errors.
    if let Err(error) = toml::from_str::<toml::Table>(&file.text) {
        return Err(vec![syntax_diagnostic(file, &error)]);
    }
    let too_deep = check_nesting(file);
    if !too_deep.is_empty() {
        return Err(too_deep);
    }
    let mut text = file.text.to_string();
    let mut diagnostics = Vec::new();
    while diagnostics.len() < MAX_SHAPE_PROBLEMS {
        let error = match toml::from_str::<Manifest>(&text) {
            Ok(manifest) if diagnostics.is_empty() => return Ok(manifest),
            Ok(_) => break,
            Err(error) => error,
        };
        diagnostics.push(shape_diagnostic(file, &error));
        let Some(span) = error.span() else { break };
        let all = entries(&text);
        let Some(entry) = entry_at(&all, span.start) else {
            break;
        };
        let next = blank(&text, entry);
        if next == text || toml::from_str::<toml::Table>(&next).is_err() {
            break;
        }
        text = next;
    }
    Err(diagnostics)
}

fn span_of(file: &SourceFile, error: &toml::de::Error) -> Span {
    let len = file.text.len();
    error.span().map_or(Span::new(0, 0), |range| {
        let start = range.start.min(len);
        Span::new(start, range.end.clamp(start, len))
    })
}

fn syntax_diagnostic(file: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim();
    let span = span_of(file, error);
    if message.starts_with("duplicate key") {
        return Diagnostic::error(codes::DUPLICATE_KEY, "a key is written twice in one table")
            .with_label(Label::primary(span, "written again here"))
            .with_help("remove one of the two entries, or rename one of them");
    }
    Diagnostic::error(codes::SYNTAX, format!("invalid TOML: {message}"))
        .with_label(Label::primary(span, message.to_owned()))
        .with_help("fix the TOML syntax at the marked place")
}

fn shape_diagnostic(file: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim();
    let span = span_of(file, error);
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, expected) = split_unknown_field(rest);
        let diagnostic = Diagnostic::error(codes::UNKNOWN_KEY, format!("unknown key `{key}`"))
            .with_label(Label::primary(span, "not a key this table takes"));
        return match did_you_mean(&key, expected.iter().map(String::as_str)) {
            Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
            None if expected.is_empty() => diagnostic.with_help("remove this key"),
            None => diagnostic.with_help(format!(
                "use one of the keys this table takes: {}",
                expected
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let key = backticked(rest).into_iter().next().unwrap_or_default();
        return Diagnostic::error(codes::MISSING_KEY, format!("missing key `{key}`"))
            .with_label(Label::primary(span, format!("this table needs `{key}`")))
            .with_help(format!("add `{key} = …` to this table"));
    }
    let (found, expected) = split_invalid(message);
    // Forms that already show themselves (`from = "alpine:3.20"`) are kept;
    // otherwise the key's own form replaces the deserializer's words.
    let shown = expected.as_deref().is_some_and(|e| e.contains('`'));
    let entries = entries(&file.text);
    let key = entry_at(&entries, span.start).map(|entry| entry.path.clone());
    let form = key.as_deref().and_then(key_form).filter(|_| !shown);
    if let (Some(form), Some(path)) = (form, key) {
        let name = path.last().map(String::as_str).unwrap_or_default();
        let label = match found.strip_prefix("invalid type: ") {
            Some(kind) => format!("this is {kind}"),
            None => found.clone(),
        };
        return Diagnostic::error(codes::TYPE, format!("`{name}` takes {}", form.what))
            .with_label(Label::primary(span, label))
            .with_help(format!("write {}, e.g. `{}`", form.what, form.example));
    }
    let label = match &expected {
        Some(expected) => format!("expected {expected}"),
        None => "this value".to_owned(),
    };
    let help = match &expected {
        Some(expected) => format!("write {expected}"),
        None => "fix this value".to_owned(),
    };
    Diagnostic::error(codes::TYPE, found)
        .with_label(Label::primary(span, label))
        .with_help(help)
}

/// "`frm`, expected one of `from`, `platform`" → ("frm", ["from", "platform"]).
fn split_unknown_field(rest: &str) -> (String, Vec<String>) {
    let (head, tail) = rest.split_once(", expected").unwrap_or((rest, ""));
    let key = backticked(head).into_iter().next().unwrap_or_default();
    (key, backticked(tail))
}

/// "invalid type: integer `3`, expected a string" → ("invalid type: integer `3`", Some("a string")).
fn split_invalid(message: &str) -> (String, Option<String>) {
    match message.split_once(", expected ") {
        Some((found, expected)) => (found.to_owned(), Some(expected.to_owned())),
        None => (message.to_owned(), None),
    }
}

/// The words written between backticks, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Manifest, Diagnostic> {
        load_manifest(&SourceFile::new("stages.toml", text)).map_err(|mut all| all.remove(0))
    }

    #[test]
    fn every_shape_problem_is_reported() {
        let text = "[stages.a]\nfrm = 1\nsteps = [{ run = \"x\", mont = [] }, { copy = 3, to = \"/\" }]\n[targets.t]\ntags = \"x\"\n";
        let all = load_manifest(&SourceFile::new("stages.toml", text)).expect_err("four problems");
        let codes: Vec<&str> = all.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                codes::UNKNOWN_KEY,
                codes::UNKNOWN_KEY,
                codes::TYPE,
                codes::TYPE
            ]
        );
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let diagnostic = load("[stages.a]\nfrm = \"x\"\n").expect_err("unknown key");
        assert_eq!(diagnostic.code, codes::UNKNOWN_KEY);
        assert_eq!(diagnostic.help.as_deref(), Some("did you mean `from`?"));
        assert_eq!(diagnostic.primary_span(), Some(Span::new(11, 14)));
    }

    #[test]
    fn syntax_and_type_errors_are_told_apart() {
        assert_eq!(load("[stages.a\n").expect_err("syntax").code, codes::SYNTAX);
        assert_eq!(
            load("[stages.a]\nsteps = 3\n").expect_err("type").code,
            codes::TYPE
        );
        assert_eq!(
            load("a = 1\na = 2\n").expect_err("dup").code,
            codes::DUPLICATE_KEY
        );
        assert_eq!(
            load("[stages.a]\nfrom = {}\n").expect_err("missing").code,
            codes::MISSING_KEY
        );
    }

    #[test]
    fn a_valid_file_loads() {
        let manifest = load("[stages.a]\nfrom = \"alpine\"\n").expect("valid");
        assert_eq!(manifest.stages.len(), 1);
    }
}
