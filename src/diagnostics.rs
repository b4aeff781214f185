//! Diagnostics shared by every layer: a code, a severity, a message, labels
//! on spans of one source file, and a help line. Layers declare their codes
//! in one catalog each; this module renders them for people (miette's
//! graphical report) and for tools (one JSON object per line).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

mod excerpt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::located::Span;
use excerpt::{Excerpt, LineStarts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A label on a span; the primary one is where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
    pub primary: bool,
}

impl Label {
    pub fn primary(span: Span, text: impl Into<String>) -> Self {
        Self {
            span,
            text: text.into(),
            primary: true,
        }
    }

    pub fn secondary(span: Span, text: impl Into<String>) -> Self {
        Self {
            span,
            text: text.into(),
            primary: false,
        }
    }
}

/// One problem found in one source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable, namespaced: `stages::check::unknown-stage`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub fn with_label(mut self, label: Label) -> Self {
        self.labels.push(label);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The span of the primary label, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }
}

/// The text diagnostics point into, and the name it is shown under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// A diagnostic bound to the excerpt of its file it shows, as miette wants it.
struct Bound<'a> {
    diagnostic: &'a Diagnostic,
    source: Excerpt,
    /// The labels' spans in the excerpt, in the order of the labels.
    spans: Vec<(usize, usize)>,
}

impl<'a> Bound<'a> {
    fn new(diagnostic: &'a Diagnostic, file: &SourceFile, starts: &LineStarts) -> Self {
        let text = &*file.text;
        let spans: Vec<Span> = diagnostic
            .labels
            .iter()
            .map(|l| {
                let start = char_boundary(text, l.span.start);
                Span::new(start, char_boundary(text, l.span.end).max(start))
            })
            .collect();
        let source = Excerpt::new(&file.name, text, starts, &spans);
        let spans = spans.iter().map(|&s| source.map_span(s)).collect();
        Self {
            diagnostic,
            source,
            spans,
        }
    }
}

/// `offset` within `text`, moved back to the start of its character.
fn char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl fmt::Debug for Bound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl fmt::Display for Bound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Bound<'_> {}

impl miette::Diagnostic for Bound<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.diagnostic.labels.is_empty() {
            None
        } else {
            Some(&self.source)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.diagnostic.labels.is_empty() {
            return None;
        }
        let labels = self.diagnostic.labels.iter().zip(&self.spans);
        Some(Box::new(labels.map(|(l, &(start, end))| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, (start, end - start))
            } else {
                LabeledSpan::new_with_span(text, (start, end - start))
            }
        })))
    }
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// miette's graphical report with colours.
    Color,
    /// The same without colours (files, pipes, snapshots).
    Plain,
}

/// How many diagnostics of one code on one line are shown; the rest are
/// counted. A line of thousands of bad words would otherwise give thousands
/// of near-identical reports.
pub const SHOWN_PER_LINE: usize = 5;

/// Renders diagnostics for people, errors first, each followed by a blank
/// line. Of the diagnostics with one code on one line, the first
/// [`SHOWN_PER_LINE`] are shown, then a line counting the others.
pub fn render_human(file: &SourceFile, diagnostics: &[Diagnostic], style: Style) -> String {
    let theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let starts = LineStarts::new(&file.text);
    let mut ordered: Vec<&Diagnostic> = diagnostics.iter().collect();
    ordered.sort_by_key(|d| (d.severity, d.primary_span().map(|s| s.start)));
    let mut out = String::new();
    // (code, line) → how many were met; the keys in the order first met.
    let mut seen: HashMap<(&str, usize), usize> = HashMap::new();
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for diagnostic in ordered {
        if let Some(span) = diagnostic.primary_span() {
            let key = (
                diagnostic.code,
                starts.line_of(span.start.min(file.text.len())),
            );
            let count = seen.entry(key).or_insert_with(|| {
                groups.push(key);
                0
            });
            *count += 1;
            if *count > SHOWN_PER_LINE {
                continue;
            }
        }
        let bound = Bound::new(diagnostic, file, &starts);
        if handler.render_report(&mut out, &bound).is_err() {
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
        out.push('\n');
    }
    for key in groups {
        let hidden = seen
            .get(&key)
            .map_or(0, |n| n.saturating_sub(SHOWN_PER_LINE));
        if hidden > 0 {
            let (code, line) = key;
            out.push_str(&format!(
                "{hidden} more {code} on line {} of {} not shown\n\n",
                line + 1,
                file.name
            ));
        }
    }
    out
}

/// One JSON object per line: code, severity, message, file, line, column, span, help.
pub fn render_json(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let starts = LineStarts::new(&file.text);
    let mut columns = ColumnCounter::default();
    let mut out = String::new();
    for d in diagnostics {
        let span = d.primary_span();
        let (line, column) = span.map_or((None, None), |s| {
            let offset = char_boundary(&file.text, s.start);
            let line = starts.line_of(offset);
            let column = columns.column(&file.text, starts.start_of(line), offset);
            (Some(line + 1), Some(column + 1))
        });
        let value = serde_json::json!({
            "code": d.code,
            "severity": d.severity.as_str(),
            "message": d.message,
            "file": file.name,
            "line": line,
            "column": column,
            "span": span.map(|s| serde_json::json!({ "start": s.start, "end": s.end })),
            "labels": d.labels.iter().map(|l| serde_json::json!({
                "start": l.span.start, "end": l.span.end, "text": l.text, "primary": l.primary,
            })).collect::<Vec<_>>(),
            "help": d.help,
        });
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out
}

/// Columns in characters, counted on from the last one asked for when it
/// lies earlier on the same line: many diagnostics on one long line would
/// otherwise count its characters from the start each time.
#[derive(Default)]
struct ColumnCounter {
    line_start: usize,
    offset: usize,
    column: usize,
}

impl ColumnCounter {
    /// The 0-based column of `offset`, on the line starting at `line_start`.
    fn column(&mut self, text: &str, line_start: usize, offset: usize) -> usize {
        if line_start != self.line_start || offset < self.offset {
            *self = Self {
                line_start,
                offset: line_start,
                column: 0,
            };
        }
        self.column += text[self.offset..offset].chars().count();
        self.offset = offset;
        self.column
    }
}

/// Names longer than this (in bytes) are neither given nor offered a
/// did-you-mean.
const SUGGESTED_NAME_MAX: usize = 256;

/// The closest candidate to `name`, if one is close enough to suggest.
///
/// Similar spellings (Jaro-Winkler) come first; failing those, a candidate
/// one edit away (two for longer names) still counts, so that swapped
/// letters in a short word (`rnu` for `run`) get a suggestion too.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Both measures take time in the product of the two lengths: two names
    // of 70,000 characters took seconds. A name that long is no typo.
    if name.len() > SUGGESTED_NAME_MAX {
        return None;
    }
    let candidates: Vec<&'a str> = candidates
        .into_iter()
        .filter(|c| *c != name && c.len() <= SUGGESTED_NAME_MAX)
        .collect();
    let similar = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c);
    similar.or_else(|| {
        let allowed = match name.chars().count() {
            0..=2 => 0,
            3..=5 => 1,
            _ => 2,
        };
        candidates
            .iter()
            .map(|c| (strsim::osa_distance(name, c), *c))
            .filter(|(distance, _)| *distance <= allowed)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, c)| c)
    })
}

#[cfg(test)]
mod did_you_mean_tests {
    use super::did_you_mean;

    #[test]
    fn very_long_names_get_no_suggestion_and_take_no_time() {
        let name = "-".repeat(70_000);
        let close = format!("{name}x");
        assert_eq!(did_you_mean(&name, [close.as_str()]), None);
        assert_eq!(did_you_mean("app", [close.as_str(), "apps"]), Some("apps"));
    }

    #[test]
    fn swapped_letters_in_a_short_word_are_suggested() {
        let keys = ["run", "copy", "artifact", "add", "to", "mounts"];
        assert_eq!(did_you_mean("rnu", keys), Some("run"));
        assert_eq!(did_you_mean("too", keys), Some("to"));
        assert_eq!(did_you_mean("cpoy", keys), Some("copy"));
        assert_eq!(did_you_mean("mont", keys), Some("mounts"));
    }

    #[test]
    fn nothing_close_gets_no_suggestion() {
        let keys = ["run", "copy", "artifact"];
        assert_eq!(did_you_mean("xyz", keys), None);
        assert_eq!(did_you_mean("a", keys), None);
        assert_eq!(did_you_mean("run", keys), None);
    }
}
