//! Text → syntax tree, following BuildKit's `parser.Parse` line by line:
//! directives, comments, continuation lines, per-instruction argument
//! parsing, then heredoc bodies.

use std::borrow::Cow;

use super::codes;
use super::directives::{DirectiveLine, DirectiveScanner};
use super::heredoc::heredocs_in_line;
use super::keyword::Keyword;
use super::line_parsers::parse_args;
use super::split::split_command_into;
use super::syntax::{Args, Directive, Dockerfile, Node, Texts, owned_texts};
use super::text;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// One physical line: its text without the line ending, where it starts,
/// and its 0-based index.
#[derive(Clone, Copy)]
struct PhysicalLine<'a> {
    content: &'a str,
    start: usize,
    index: usize,
}

impl PhysicalLine<'_> {
    fn end_without_newline(&self) -> usize {
        self.start + self.content.len()
    }

    fn span(&self) -> Span {
        Span::new(self.start, self.end_without_newline())
    }
}

fn trim_newline(s: &str) -> &str {
    let bytes = s.as_bytes();
    // Nearly every line ends in one `\n` after a byte that is no line end.
    match bytes {
        [.., last, b'\n'] if !matches!(last, b'\r' | b'\n') => &s[..s.len() - 1],
        _ => text::trim_end_bytes(s, |b| b == b'\r' || b == b'\n'),
    }
}

/// Removes a trailing continuation (the escape, then blanks); `true` when
/// the line does not continue. An escaped escape does not continue.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    // The escape is `\` or `` ` ``, both ASCII.
    let escape = u8::try_from(escape).unwrap_or(b'\\');
    let bytes = line.as_bytes();
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    if end == 0 || bytes[end - 1] != escape || (end >= 2 && bytes[end - 2] == escape) {
        return (line, true);
    }
    (&line[..end - 1], false)
}

/// The logical line made of `parts`: a slice of the source when there is
/// one part, else one string built at its final size.
#[inline]
fn join<'a>(parts: &[&'a str]) -> Cow<'a, str> {
    match parts {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(one),
        _ => Cow::Owned(parts.concat()),
    }
}

/// Parses a Dockerfile the way BuildKit's parser does.
pub fn parse(text: &str) -> Result<Dockerfile<'_>, Diagnostic> {
    Parser::new(text).run()
}

struct Parser<'a> {
    text: &'a str,
    /// Where the next physical line starts.
    pos: usize,
    /// The index of the next physical line.
    next: usize,
    /// The last line read, for spans that end there.
    last: PhysicalLine<'a>,
    escape: char,
    scanner: DirectiveScanner,
    directives: Vec<Directive>,
    /// The non-empty pieces of the logical line being read (kept to reuse
    /// its allocation).
    parts: Vec<&'a str>,
    /// A `<` was among the lines read since this was last cleared.
    less_than: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            next: 0,
            last: PhysicalLine {
                content: "",
                start: 0,
                index: 0,
            },
            escape: '\\',
            scanner: DirectiveScanner::default(),
            directives: Vec::new(),
            // Room for an instruction of many continuation lines, so that
            // the first such instruction does not regrow it several times.
            parts: Vec::with_capacity(32),
            less_than: false,
        }
    }

    /// Reads the next physical line, if any.
    #[inline(always)]
    fn line(&mut self) -> Option<PhysicalLine<'a>> {
        let rest = self.text.get(self.pos..).filter(|r| !r.is_empty())?;
        let bytes = rest.as_bytes();
        // The search for the line end also notes a `<`, so that lines that
        // cannot open a heredoc are not searched again for `<<`.
        let len = match memchr::memchr2(b'\n', b'<', bytes) {
            Some(at) if bytes[at] == b'\n' => at + 1,
            Some(at) => {
                self.less_than = true;
                memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |end| at + end + 1)
            }
            None => bytes.len(),
        };
        let line = PhysicalLine {
            content: trim_newline(&rest[..len]),
            start: self.pos,
            index: self.next,
        };
        self.pos += len;
        self.next += 1;
        self.last = line;
        Some(line)
    }

    /// Feeds a line to the directive scanner; `Ok(true)` if it was one.
    #[inline]
    fn directive(&mut self, line: PhysicalLine<'a>, content: &str) -> Result<bool, Diagnostic> {
        if self.scanner.is_done() {
            return Ok(false);
        }
        self.scan_directive(line, content)
    }

    /// [`Self::directive`] while directives may still come.
    fn scan_directive(
        &mut self,
        line: PhysicalLine<'a>,
        content: &str,
    ) -> Result<bool, Diagnostic> {
        match self.scanner.scan(content) {
            DirectiveLine::NotADirective => Ok(false),
            DirectiveLine::Repeated(name) => Err(Diagnostic::error(
                codes::DIRECTIVE_REPEATED,
                format!("only one {name} parser directive can be used"),
            )
            .with_label(Label::primary(line.span(), "repeated here"))
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
                            .with_label(Label::primary(line.span(), "this escape"))
                            .with_help("use `# escape=\\` or ``# escape=` ``"));
                        }
                    }
                }
                self.directives.push(Directive {
                    name,
                    value,
                    line: line.index + 1,
                    span: line.span(),
                });
                Ok(true)
            }
        }
    }

    /// The span from `start` to the end of the last line read.
    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.last.end_without_newline())
    }

    fn run(mut self) -> Result<Dockerfile<'a>, Diagnostic> {
        // Instructions take some 90 bytes on average in real files; room
        // for a few more than that saves regrowing without counting lines.
        let mut nodes = Vec::with_capacity(self.text.len() / 64 + 1);
        let mut comments: Texts<'a> = Texts::new();
        let mut warnings = Vec::new();
        while let Some(first_line) = {
            self.less_than = false;
            self.line()
        } {
            let mut raw = first_line.content;
            let mut start = first_line.start;
            if first_line.index == 0 && raw.starts_with('\u{feff}') {
                raw = &raw[3..];
                start += 3;
            }
            let stripped = text::trim_start(raw);
            let was_directive = self.directive(first_line, stripped)?;
            if stripped.starts_with('#') {
                if !was_directive {
                    let mut chars = raw.chars();
                    chars.next();
                    let comment = text::trim(chars.as_str());
                    if comment.is_empty() {
                        comments.clear();
                    } else {
                        comments.push(Cow::Borrowed(comment));
                    }
                }
                continue;
            }
            let (first, end_of_line) = trim_continuation(stripped, self.escape);
            if end_of_line && first.is_empty() {
                continue;
            }
            self.parts.clear();
            if !first.is_empty() {
                self.parts.push(first);
            }
            if !end_of_line && self.read_continuation()? {
                warnings.push(format!(
                    "Empty continuation line found in: {}",
                    join(&self.parts)
                ));
            }
            nodes.resize_with(nodes.len() + 1, Node::default);
            let Some(node) = nodes.last_mut() else {
                continue;
            };
            let may_carry_heredocs = self.node_of_parts(node).map_err(|diag| {
                diag.with_label(Label::primary(self.span_from(start), "in this instruction"))
            })?;
            if may_carry_heredocs && self.less_than {
                self.read_heredoc_bodies(node, start)?;
            }
            node.comments = std::mem::take(&mut comments);
            node.start_line = first_line.index + 1;
            node.end_line = self.next;
            node.span = self.span_from(start);
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
            trailing_comments: comments.into_iter().map(Cow::into_owned).collect(),
            warnings,
        })
    }

    /// Reads the lines that continue a logical line into `parts`, up to one
    /// that does not continue; `true` if blank lines were among them.
    fn read_continuation(&mut self) -> Result<bool, Diagnostic> {
        let mut has_empty_continuation = false;
        while let Some(next) = self.line() {
            let content = next.content;
            self.directive(next, content)?;
            let stripped = text::trim_start(content);
            if stripped.starts_with('#') {
                continue;
            }
            if stripped.is_empty() {
                has_empty_continuation = true;
                continue;
            }
            let (part, end_of_line) = trim_continuation(content, self.escape);
            if !part.is_empty() {
                self.parts.push(part);
            }
            if end_of_line {
                break;
            }
        }
        Ok(has_empty_continuation)
    }

    /// Fills `node` from the logical line in `parts`. A line joined from
    /// several parts is parsed as a new string, which the node then owns;
    /// what lies whole within one part is borrowed from the source again.
    /// `true` when heredocs may follow (see [`fill_node`]).
    fn node_of_parts(&self, node: &mut Node<'a>) -> Result<bool, Diagnostic> {
        let joined = match join(&self.parts) {
            Cow::Borrowed(single) => return fill_node(node, single, self.escape, 0),
            Cow::Owned(joined) => joined,
        };
        let may_carry_heredocs = {
            let mut parsed = Node::default();
            let may_carry_heredocs = fill_node(&mut parsed, &joined, self.escape, 0)?;
            let parts = &Parts::new(&self.parts);
            node.keyword = in_parts(std::mem::take(&mut parsed.keyword), &joined, parts);
            node.flags = (parsed.flags.drain(..))
                .map(|flag| in_parts(flag, &joined, parts))
                .collect();
            node.args = (parsed.args.drain(..))
                .map(|arg| in_parts(arg, &joined, parts))
                .collect();
            node.json = parsed.json;
            node.sub = parsed.sub.take().map(|sub| Box::new(sub.into_owned()));
            may_carry_heredocs
        };
        node.original = Cow::Owned(joined);
        Ok(may_carry_heredocs)
    }

    /// Reads the body of each heredoc the instruction starts, in order.
    fn read_heredoc_bodies(&mut self, node: &mut Node<'a>, start: usize) -> Result<(), Diagnostic> {
        for mut doc in heredocs_in_line(&node.original) {
            let body_start = self.pos;
            let mut body_end = body_start;
            let mut terminated = false;
            while let Some(body) = self.line() {
                let mut candidate = body.content;
                if doc.chomp {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == doc.name {
                    terminated = true;
                    break;
                }
                body_end = self.pos;
            }
            if !terminated {
                return Err(
                    Diagnostic::error(codes::UNTERMINATED_HEREDOC, "unterminated heredoc")
                        .with_label(Label::primary(
                            self.span_from(start),
                            format!("`{}` never ends", doc.name),
                        ))
                        .with_help(format!("end the here-document with a line `{}`", doc.name)),
                );
            }
            doc.content = self.text[body_start..body_end].to_string();
            node.heredocs.push(doc);
        }
        Ok(())
    }
}

/// The parts of a joined line and where each starts in it, so that the
/// part holding a piece of the joined line is found by a binary search:
/// COPY or ARG over thousands of continuation lines has thousands of
/// arguments, and a search from the first part for each was quadratic.
struct Parts<'p, 'a> {
    parts: &'p [&'a str],
    starts: Vec<usize>,
}

impl<'p, 'a> Parts<'p, 'a> {
    fn new(parts: &'p [&'a str]) -> Self {
        let mut starts = Vec::with_capacity(parts.len());
        let mut at = 0;
        for part in parts {
            starts.push(at);
            at += part.len();
        }
        Self { parts, starts }
    }
}

/// `text`, read from `joined` (the concatenation of `parts`), as a slice
/// of the part it lies whole in; a copy when it spans parts or was built.
fn in_parts<'a>(text: Cow<'_, str>, joined: &str, parts: &Parts<'_, 'a>) -> Cow<'a, str> {
    let Cow::Borrowed(slice) = text else {
        return Cow::Owned(text.into_owned());
    };
    // Where the slice lies in `joined`, told by address: it was cut from it
    // unless it is text of the parser's own, such as an empty argument.
    let start = (slice.as_ptr() as usize).wrapping_sub(joined.as_ptr() as usize);
    let end = start.wrapping_add(slice.len());
    if start <= joined.len() && end <= joined.len() {
        let index = parts
            .starts
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        if let (Some(part), Some(&part_start)) = (parts.parts.get(index), parts.starts.get(index))
            && let Some(same) = part.get(start - part_start..end - part_start)
        {
            return Cow::Borrowed(same);
        }
    }
    Cow::Owned(slice.to_string())
}

/// How deep `ONBUILD ONBUILD …` may nest before the line is refused
/// (BuildKit refuses any nesting one layer later; this bounds the recursion).
const MAX_NESTING: usize = 32;

/// Parses one logical line into `node` (no lines, spans or heredocs yet).
/// Nodes are filled where they lie rather than returned: they are large,
/// and moving each several times was a visible part of parsing.
///
/// `true` when heredoc bodies may follow: RUN, COPY and ADD in shell form,
/// also as an ONBUILD trigger.
fn fill_node<'b>(
    node: &mut Node<'b>,
    line: &'b str,
    escape: char,
    depth: usize,
) -> Result<bool, Diagnostic> {
    if depth > MAX_NESTING {
        return Err(Diagnostic::error(
            codes::INVALID_ARGUMENTS,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ));
    }
    let (keyword, rest) = split_command_into(line, &mut node.flags);
    let known = Keyword::of(keyword);
    node.keyword = Cow::Borrowed(keyword);
    node.original = Cow::Borrowed(line);
    let trigger_may_carry_heredocs = match rest {
        Cow::Borrowed(rest) => {
            let parsed = parse_args(known, rest, escape, &mut node.args).map_err(arg_error)?;
            node.json = parsed.json;
            match parsed.sub_line {
                Some(sub_line) => fill_trigger(node, sub_line, escape, depth)?,
                None => false,
            }
        }
        Cow::Owned(rest) => fill_from_repaired(node, known, &rest, escape, depth)?,
    };
    Ok(match known {
        Some(Keyword::Onbuild) => trigger_may_carry_heredocs,
        Some(keyword) => keyword.takes_heredocs() && !node.json,
        None => false,
    })
}

/// The ONBUILD trigger `sub_line` as `node`'s nested node; `true` when
/// heredoc bodies may follow it. Rare, so kept out of the common path.
#[inline(never)]
fn fill_trigger<'b>(
    node: &mut Node<'b>,
    sub_line: &'b str,
    escape: char,
    depth: usize,
) -> Result<bool, Diagnostic> {
    let mut sub = Box::<Node<'b>>::default();
    let may_carry_heredocs = fill_node(&mut sub, sub_line, escape, depth + 1)?;
    node.sub = Some(sub);
    Ok(may_carry_heredocs)
}

/// The arguments when the text after the flags was repaired from broken
/// UTF-8: they are read from the repaired copy, and owned.
#[cold]
#[inline(never)]
fn fill_from_repaired(
    node: &mut Node<'_>,
    known: Option<Keyword>,
    rest: &str,
    escape: char,
    depth: usize,
) -> Result<bool, Diagnostic> {
    let mut args = Args::new();
    let parsed = parse_args(known, rest, escape, &mut args).map_err(arg_error)?;
    node.json = parsed.json;
    let mut may_carry_heredocs = false;
    if let Some(sub_line) = parsed.sub_line {
        let mut sub = Node::default();
        may_carry_heredocs = fill_node(&mut sub, sub_line, escape, depth + 1)?;
        node.sub = Some(Box::new(sub.into_owned()));
    }
    node.args = owned_texts(args);
    Ok(may_carry_heredocs)
}

fn arg_error(e: super::line_parsers::ArgError) -> Diagnostic {
    Diagnostic::error(e.code, e.message)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{Parts, in_parts, trim_continuation};

    #[test]
    fn heredocs_are_found_wherever_the_continued_line_has_them() {
        for text in [
            "FROM a\nRUN cat <<EOF\nhi\nEOF\n",
            "FROM a\nRUN cat \\\n  <<EOF\nhi\nEOF\n",
            // `<<` only once the lines are joined.
            "FROM a\nRUN cat <\\\n<EOF\nhi\nEOF\n",
        ] {
            let file = super::parse(text).unwrap_or_default();
            let docs = file
                .nodes
                .get(1)
                .map(|n| n.heredocs.clone())
                .unwrap_or_default();
            assert_eq!(docs.len(), 1, "{text:?}");
            assert_eq!(docs[0].content, "hi\n");
        }
        let file = super::parse("FROM a\nRUN echo '<' a < b\n").unwrap_or_default();
        assert!(file.nodes.iter().all(|n| n.heredocs.is_empty()));
    }

    #[test]
    fn text_within_one_part_of_a_joined_line_is_borrowed_from_the_source() {
        let source = "RUN --mount=a \\\n    make all";
        let parts = [&source[..14], &source[20..]];
        let joined = parts.concat();
        let parts = Parts::new(&parts);
        let within = |range: std::ops::Range<usize>| {
            in_parts(Cow::Borrowed(&joined[range]), &joined, &parts)
        };
        // `--mount=a` lies in the first part, `make` in the second.
        for (range, text) in [(4..13, "--mount=a"), (14..18, "make"), (14..14, "")] {
            let Cow::Borrowed(found) = within(range) else {
                panic!("{text:?} was copied");
            };
            assert_eq!(found, text);
            let at = found.as_ptr() as usize - source.as_ptr() as usize;
            assert_eq!(
                &source[at..at + found.len()],
                text,
                "not a slice of the source"
            );
        }
        // Across the join, the text exists only in the joined line.
        assert!(matches!(within(11..17), Cow::Owned(t) if t == "=a mak"));
        // Text of the parser's own is copied, not mistaken for the line.
        assert!(
            matches!(in_parts(Cow::Borrowed("make"), &joined, &parts), Cow::Owned(t) if t == "make")
        );
        assert!(
            matches!(in_parts(Cow::Owned("x".into()), &joined, &parts), Cow::Owned(t) if t == "x")
        );
    }

    #[test]
    fn a_trailing_escape_continues_the_line_unless_escaped() {
        assert_eq!(trim_continuation("RUN a \\", '\\'), ("RUN a ", false));
        assert_eq!(trim_continuation("RUN a \\ \t ", '\\'), ("RUN a ", false));
        assert_eq!(trim_continuation("\\", '\\'), ("", false));
        assert_eq!(trim_continuation("RUN a \\\\", '\\'), ("RUN a \\\\", true));
        assert_eq!(trim_continuation("RUN a", '\\'), ("RUN a", true));
        assert_eq!(trim_continuation("  ", '\\'), ("  ", true));
        assert_eq!(trim_continuation("", '\\'), ("", true));
        assert_eq!(trim_continuation("RUN a `", '`'), ("RUN a ", false));
        assert_eq!(trim_continuation("RUN a \\", '`'), ("RUN a \\", true));
        assert_eq!(trim_continuation("é\\", '\\'), ("é", false));
    }
}
