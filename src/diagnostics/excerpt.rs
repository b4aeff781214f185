//! The part of a source file one diagnostic shows, with long lines cut to
//! windows around the labels.
//!
//! miette's report pads each label to its column with a formatting width,
//! which cannot exceed 65,535 (it panics past that), and it prints every
//! line it shows in full: one error on a line of a megabyte prints a
//! megabyte. It also reads a label's context by scanning the text from its
//! start. So each diagnostic is rendered from an excerpt instead: only the
//! lines its labels and their context lines cover, each long line cut down
//! to the text around the labels' ends with `…` where text was left out.
//! Line numbers and the `file:line:column` header still give the places in
//! the whole file.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::located::Span;

/// Lines longer than this (in bytes) are shown as windows.
pub const LONG_LINE: usize = 160;
/// How much of a long line (in bytes, about) is shown either side of a
/// label's start or end.
const CONTEXT: usize = 40;
/// What stands for text left out of a long line.
const ELISION: &str = "…";

/// Where every line of a file starts, computed once for all its diagnostics.
pub struct LineStarts(Vec<usize>);

impl LineStarts {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|at| at + 1));
        Self(starts)
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset) - 1
    }

    /// Where the 0-based `line` starts.
    pub fn start_of(&self, line: usize) -> usize {
        self.0[line]
    }
}

/// One piece of the excerpt copied from the file.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Where it starts in the excerpt.
    at: usize,
    /// Where it starts in the file.
    from: usize,
    len: usize,
}

/// One excerpt line: where it starts in the excerpt and in the file, and
/// the pieces of the file line it holds.
#[derive(Debug, Clone)]
struct ExcerptLine {
    at: usize,
    file_start: usize,
    pieces: Vec<Piece>,
}

/// The lines one diagnostic shows, as text of its own, and how its offsets
/// map back to the file.
pub struct Excerpt {
    name: String,
    text: String,
    /// The file's 0-based line number of the excerpt's first line.
    first_line: usize,
    lines: Vec<ExcerptLine>,
}

impl Excerpt {
    /// The lines from one before the first label to one after the last.
    /// `spans` must lie on character boundaries within `text`.
    pub fn new(name: &str, text: &str, starts: &LineStarts, spans: &[Span]) -> Self {
        let last_line = starts.0.len() - 1;
        let first = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let last = spans.iter().map(|s| s.end).max().unwrap_or(0);
        let first_line = starts.line_of(first).saturating_sub(1);
        let end_line = (starts.line_of(last) + 1).min(last_line);
        let mut excerpt = Self {
            name: name.to_owned(),
            text: String::new(),
            first_line,
            lines: Vec::with_capacity(end_line - first_line + 1),
        };
        let mut points: Vec<usize> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
        points.sort_unstable();
        for line in first_line..=end_line {
            let start = starts.0[line];
            let next = starts.0.get(line + 1).copied().unwrap_or(text.len());
            excerpt.push_line(text, start, next, &points);
        }
        excerpt
    }

    /// Copies the file line `start..next` (`next` past its line ending),
    /// cut to windows around the `points` on it when it is long.
    fn push_line(&mut self, text: &str, start: usize, next: usize, points: &[usize]) {
        let line = &text[start..next];
        let content_len = line.trim_end_matches(['\n', '\r']).len();
        let end = start + content_len;
        let mut line_entry = ExcerptLine {
            at: self.text.len(),
            file_start: start,
            pieces: Vec::new(),
        };
        if content_len <= LONG_LINE {
            line_entry.pieces.push(Piece {
                at: self.text.len(),
                from: start,
                len: line.len(),
            });
            self.text.push_str(line);
            self.lines.push(line_entry);
            return;
        }
        let windows = windows(text, start, end, points);
        let mut shown_to = start;
        for (from, to) in windows {
            if from > shown_to {
                self.text.push_str(ELISION);
            }
            line_entry.pieces.push(Piece {
                at: self.text.len(),
                from,
                len: to - from,
            });
            self.text.push_str(&text[from..to]);
            shown_to = to;
        }
        if shown_to < end {
            self.text.push_str(ELISION);
        }
        self.text.push_str(&text[end..next]);
        self.lines.push(line_entry);
    }

    /// Where a file offset shown in the excerpt lies in it; an offset in
    /// left-out text maps to the nearest shown place.
    pub fn map(&self, offset: usize) -> usize {
        let index = self
            .lines
            .partition_point(|l| l.file_start <= offset)
            .saturating_sub(1);
        let Some(line) = self.lines.get(index) else {
            return self.text.len();
        };
        let mut best = line.at;
        for piece in &line.pieces {
            if offset < piece.from {
                return best;
            }
            best = piece.at + (offset - piece.from).min(piece.len);
        }
        best
    }

    pub fn map_span(&self, span: Span) -> (usize, usize) {
        let start = self.map(span.start);
        (start, self.map(span.end).max(start))
    }

    /// The file column (0-based, in bytes as miette counts) of an excerpt offset.
    fn file_column(&self, offset: usize) -> usize {
        let index = self
            .lines
            .partition_point(|l| l.at <= offset)
            .saturating_sub(1);
        let Some(line) = self.lines.get(index) else {
            return 0;
        };
        let mut file_offset = line.file_start;
        for piece in &line.pieces {
            if offset < piece.at {
                break;
            }
            file_offset = piece.from + (offset - piece.at).min(piece.len);
        }
        file_offset - line.file_start
    }
}

/// The stretches of the long line `start..end` to show: around each point
/// on it, or its beginning when none is. Merged where they meet, cut on
/// character boundaries.
fn windows(text: &str, start: usize, end: usize, points: &[usize]) -> Vec<(usize, usize)> {
    let on_line = points.iter().filter(|&&p| p >= start && p <= end);
    let mut windows: Vec<(usize, usize)> = Vec::new();
    for &point in on_line {
        let from = floor_boundary(text, point.saturating_sub(CONTEXT).max(start));
        let to = ceil_boundary(text, (point + CONTEXT).min(end));
        match windows.last_mut() {
            // Joined when the gap would be no shorter than the mark.
            Some(last) if from <= last.1 + ELISION.len() => last.1 = last.1.max(to),
            _ => windows.push((from, to)),
        }
    }
    if windows.is_empty() {
        windows.push((start, ceil_boundary(text, start + 2 * CONTEXT)));
    }
    windows
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        let column = if context_lines_before == 0 {
            self.file_column(inner.span().offset())
        } else {
            0
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            // miette counts the lines from the start of the file to the end
            // of what it read, and compares that with line numbers.
            inner.line_count() + self.first_line,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt(text: &str, spans: &[Span]) -> Excerpt {
        Excerpt::new("f", text, &LineStarts::new(text), spans)
    }

    #[test]
    fn short_lines_are_copied_whole_from_one_before_to_one_after() {
        let text = "a\nbb\ncc\ndd\ne\n";
        let e = excerpt(text, &[Span::new(5, 7)]);
        assert_eq!(e.text, "bb\ncc\ndd\n");
        assert_eq!(e.first_line, 1);
        assert_eq!(e.map_span(Span::new(5, 7)), (3, 5));
    }

    #[test]
    fn a_long_line_keeps_the_text_around_the_label_ends() {
        let long = format!("x = \"{}\", bogus = 1", "A".repeat(70_000));
        let text = format!("[a]\n{long}\n");
        let at = text.find("bogus").unwrap_or_default();
        let span = Span::new(at, at + 5);
        let e = excerpt(&text, &[span]);
        assert!(e.text.len() < 200, "{}", e.text.len());
        let (start, end) = e.map_span(span);
        assert_eq!(&e.text[start..end], "bogus");
        assert!(e.text.contains("…AAAA"));
        assert_eq!(e.file_column(start), at - 4);
    }

    #[test]
    fn far_apart_ends_of_one_label_get_a_window_each() {
        let text = format!("{}\n", "é".repeat(10_000));
        let span = Span::new(2 * 100, 2 * 9_000);
        let e = excerpt(&text, &[span]);
        assert_eq!(e.text.matches('…').count(), 3);
        let (start, end) = e.map_span(span);
        assert!(e.text[start..end].contains('…'));
        assert_eq!(e.file_column(end), 2 * 9_000);
    }
}
