//! Text → syntax tree, following BuildKit's `parser.Parse` line by line:
//! directives, comments, continuation lines, per-instruction argument
//! parsing, then heredoc bodies.

use super::codes;
use super::directives::{DirectiveLine, DirectiveScanner};
use super::heredoc::heredocs_in_line;
use super::line_parsers::parse_args;
use super::split::split_command;
use super::syntax::{Directive, Dockerfile, Node};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// One physical line: its text with the line ending, and where it starts.
struct PhysicalLine<'a> {
    text: &'a str,
    start: usize,
}

impl PhysicalLine<'_> {
    fn end_without_newline(&self) -> usize {
        self.start + trim_newline(self.text).len()
    }
}

fn physical_lines(text: &str) -> Vec<PhysicalLine<'_>> {
    let mut start = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let l = PhysicalLine { text: line, start };
            start += line.len();
            l
        })
        .collect()
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    trim_newline(line).trim_start().starts_with('#')
}

/// Removes a trailing continuation (the escape, then blanks); `true` when
/// the line does not continue. An escaped escape does not continue.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let Some(before) = trimmed.strip_suffix(escape) else {
        return (line, true);
    };
    if !before.is_empty() && before.ends_with(escape) {
        return (line, true);
    }
    (before, false)
}

/// Parses a Dockerfile the way BuildKit's parser does.
pub fn parse(text: &str) -> Result<Dockerfile, Diagnostic> {
    Parser::new(text).run()
}

struct Parser<'a> {
    text: &'a str,
    lines: Vec<PhysicalLine<'a>>,
    next: usize,
    escape: char,
    scanner: DirectiveScanner,
    directives: Vec<Directive>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            lines: physical_lines(text),
            next: 0,
            escape: '\\',
            scanner: DirectiveScanner::default(),
            directives: Vec::new(),
        }
    }

    fn line_span(&self, index: usize) -> Span {
        self.lines.get(index).map_or_else(
            || Span::new(self.text.len(), self.text.len()),
            |l| Span::new(l.start, l.end_without_newline()),
        )
    }

    /// Feeds a line to the directive scanner; `Ok(true)` if it was one.
    fn directive(&mut self, index: usize, line: &str) -> Result<bool, Diagnostic> {
        match self.scanner.scan(line) {
            DirectiveLine::NotADirective => Ok(false),
            DirectiveLine::Repeated(name) => Err(Diagnostic::error(
                codes::DIRECTIVE_REPEATED,
                format!("only one {name} parser directive can be used"),
            )
            .with_label(Label::primary(self.line_span(index), "repeated here"))
            .with_help("remove all but one of these directives")),
            DirectiveLine::Directive { name, value } => {
                if name == "escape" {
                    match value.as_str() {
                        "\\" => self.escape = '\\',
                        "`" => self.escape = '`',
                        _ => {
                            return Err(Diagnostic::error(
                                codes::INVALID_ESCAPE,
                                format!("invalid escape token '{value}' does not match ` or \\"),
                            )
                            .with_label(Label::primary(self.line_span(index), "this escape"))
                            .with_help("use `# escape=\\` or ``# escape=` ``"));
                        }
                    }
                }
                self.directives.push(Directive {
                    name,
                    value,
                    line: index + 1,
                    span: self.line_span(index),
                });
                Ok(true)
            }
        }
    }

    fn run(mut self) -> Result<Dockerfile, Diagnostic> {
        let mut nodes = Vec::new();
        let mut comments: Vec<String> = Vec::new();
        let mut warnings = Vec::new();
        while self.next < self.lines.len() {
            let index = self.next;
            self.next += 1;
            let mut raw = self.lines[index].text;
            let mut start = self.lines[index].start;
            if index == 0 && raw.starts_with('\u{feff}') {
                raw = &raw[3..];
                start += 3;
            }
            let stripped = trim_newline(raw).trim_start();
            let was_directive = self.directive(index, stripped)?;
            if is_comment(raw) && !was_directive {
                let mut chars = raw.chars();
                chars.next();
                let comment = chars.as_str().trim();
                if comment.is_empty() {
                    comments.clear();
                } else {
                    comments.push(comment.to_string());
                }
            }
            let processed = if stripped.starts_with('#') {
                ""
            } else {
                stripped
            };
            let (first, mut end_of_line) = trim_continuation(processed, self.escape);
            if end_of_line && first.is_empty() {
                continue;
            }
            let mut line = first.to_string();
            let mut has_empty_continuation = false;
            while !end_of_line && self.next < self.lines.len() {
                let i = self.next;
                self.next += 1;
                let raw = self.lines[i].text;
                let content = trim_newline(raw);
                self.directive(i, content)?;
                if is_comment(raw) {
                    continue;
                }
                if content.trim_start().is_empty() {
                    has_empty_continuation = true;
                    continue;
                }
                let (part, eol) = trim_continuation(content, self.escape);
                end_of_line = eol;
                line.push_str(part);
            }
            if has_empty_continuation {
                warnings.push(format!("Empty continuation line found in: {line}"));
            }
            let span_of =
                |this: &Self, last: usize| Span::new(start, this.lines[last].end_without_newline());
            let mut node = match new_node(line, self.escape, 0) {
                Ok(node) => node,
                Err(diag) => {
                    let span = span_of(&self, self.next - 1);
                    return Err(diag.with_label(Label::primary(span, "in this instruction")));
                }
            };
            if can_contain_heredoc(&node) {
                for mut doc in heredocs_in_line(&node.original) {
                    let mut terminated = false;
                    while self.next < self.lines.len() {
                        let body = self.lines[self.next].text;
                        self.next += 1;
                        let mut candidate = trim_newline(body);
                        if doc.chomp {
                            candidate = candidate.trim_start_matches('\t');
                        }
                        if candidate == doc.name {
                            terminated = true;
                            break;
                        }
                        doc.content.push_str(body);
                    }
                    if !terminated {
                        let span = span_of(&self, self.next.saturating_sub(1).max(index));
                        return Err(Diagnostic::error(
                            codes::UNTERMINATED_HEREDOC,
                            "unterminated heredoc",
                        )
                        .with_label(Label::primary(span, format!("`{}` never ends", doc.name)))
                        .with_help(format!("end the here-document with a line `{}`", doc.name)));
                    }
                    node.heredocs.push(doc);
                }
            }
            node.comments = std::mem::take(&mut comments);
            node.start_line = index + 1;
            node.end_line = self.next;
            node.span = span_of(&self, self.next - 1);
            nodes.push(node);
        }
        if nodes.is_empty() {
            let end = self.text.len();
            return Err(
                Diagnostic::error(codes::EMPTY_FILE, "file with no instructions")
                    .with_label(Label::primary(
                        Span::new(end.saturating_sub(1).min(end), end),
                        "no instruction before the end of the file",
                    ))
                    .with_help("add a FROM instruction"),
            );
        }
        Ok(Dockerfile {
            directives: self.directives,
            escape: self.escape,
            nodes,
            trailing_comments: comments,
            warnings,
        })
    }
}

/// How deep `ONBUILD ONBUILD …` may nest before the line is refused
/// (BuildKit refuses any nesting one layer later; this bounds the recursion).
const MAX_NESTING: usize = 32;

/// Parses one logical line into a node (no lines, spans or heredocs yet).
fn new_node(line: String, escape: char, depth: usize) -> Result<Node, Diagnostic> {
    if depth > MAX_NESTING {
        return Err(Diagnostic::error(
            codes::INVALID_ARGUMENTS,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ));
    }
    let (keyword, flags, rest) = split_command(&line);
    let parsed = parse_args(&dispatch_name(keyword), &rest, escape)
        .map_err(|e| Diagnostic::error(e.code, e.message))?;
    let keyword = keyword.to_string();
    let sub = match parsed.sub_line {
        Some(sub_line) => Some(Box::new(new_node(sub_line, escape, depth + 1)?)),
        None => None,
    };
    Ok(Node {
        keyword,
        flags,
        args: parsed.args,
        json: parsed.json,
        sub,
        original: line,
        ..Node::default()
    })
}

/// The keyword lower-cased for dispatch, without allocating for ASCII keywords.
fn dispatch_name(keyword: &str) -> std::borrow::Cow<'static, str> {
    const KNOWN: &[&str] = &[
        "add",
        "arg",
        "cmd",
        "copy",
        "entrypoint",
        "env",
        "expose",
        "from",
        "healthcheck",
        "label",
        "maintainer",
        "onbuild",
        "run",
        "shell",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    ];
    if keyword.is_ascii() {
        match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(keyword)) {
            Some(k) => std::borrow::Cow::Borrowed(k),
            None => std::borrow::Cow::Borrowed(""),
        }
    } else {
        std::borrow::Cow::Owned(keyword.to_lowercase())
    }
}

/// RUN, COPY and ADD in shell form (also under ONBUILD) may carry heredocs.
fn can_contain_heredoc(node: &Node) -> bool {
    let is = |n: &Node, k: &str| n.keyword.eq_ignore_ascii_case(k);
    let target = match &node.sub {
        Some(sub) if is(node, "onbuild") => sub.as_ref(),
        _ => node,
    };
    (is(target, "run") || is(target, "copy") || is(target, "add")) && !target.json
}
