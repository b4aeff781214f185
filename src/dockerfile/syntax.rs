//! The untyped syntax tree: one node per instruction, as BuildKit's parser
//! reads it, with the original text, line range and byte span kept.
//!
//! Text is borrowed from the source wherever it appears there as it is
//! (`Cow::Borrowed`); only what the parser had to build, such as an
//! instruction joined from continuation lines or a flag with its quotes
//! removed, is owned. Parsing allocates little that way.

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::located::Span;

pub use super::keyword::{KEYWORDS, Keyword, lower_keyword};

/// A whole Dockerfile as read by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerfile<'a> {
    /// Parser directives (`# syntax=…`, `# escape=…`, `# check=…`) in file order.
    pub directives: Vec<Directive>,
    /// The escape character: `\` or `` ` ``.
    pub escape: char,
    pub nodes: Vec<Node<'a>>,
    /// Comments after the last instruction (kept so a rewrite loses nothing).
    pub trailing_comments: Vec<String>,
    /// Non-fatal findings, e.g. empty continuation lines.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name: `syntax`, `escape` or `check`.
    pub name: String,
    pub value: String,
    /// 1-based line.
    pub line: usize,
    pub span: Span,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node<'a> {
    /// The keyword as written (`run`, `Run`, `RUN`).
    pub keyword: Cow<'a, str>,
    /// Flags as written, without a bare `--` (`--from=build`).
    pub flags: Flags<'a>,
    /// Arguments as BuildKit's parser splits them. ENV and LABEL give
    /// key, value, separator triples.
    pub args: Args<'a>,
    /// The exec (JSON array) form was used.
    pub json: bool,
    /// For ONBUILD: the nested instruction.
    pub sub: Option<Box<Node<'a>>>,
    pub heredocs: Vec<Heredoc>,
    /// Comment lines just before the instruction, without their `#`.
    pub comments: Texts<'a>,
    /// The logical line (continuations joined), without heredoc bodies.
    pub original: Cow<'a, str>,
    /// 1-based, inclusive; the end covers heredoc bodies. 0 for nested nodes.
    pub start_line: usize,
    pub end_line: usize,
    /// Bytes of the source from the start of the first line to the end of the last.
    pub span: Span,
}

impl Node<'_> {
    /// The keyword lower-cased, which is how instructions are matched.
    pub fn name(&self) -> Cow<'static, str> {
        lower_keyword(&self.keyword)
    }

    /// The instruction the keyword names, if BuildKit knows it.
    pub fn known_keyword(&self) -> Option<Keyword> {
        Keyword::of(&self.keyword)
    }

    /// The same node owning all its text, free of the source it was read from.
    pub fn into_owned<'b>(self) -> Node<'b> {
        Node {
            keyword: Cow::Owned(self.keyword.into_owned()),
            flags: owned_texts(self.flags),
            args: owned_texts(self.args),
            json: self.json,
            sub: self.sub.map(|sub| Box::new(sub.into_owned())),
            heredocs: self.heredocs,
            comments: owned_texts(self.comments),
            original: Cow::Owned(self.original.into_owned()),
            start_line: self.start_line,
            end_line: self.end_line,
            span: self.span,
        }
    }
}

/// An instruction's arguments. Most instructions have up to three, which
/// are kept inline: a vector each would be most of what parsing allocates.
pub type Args<'a> = SmallVec<[Cow<'a, str>; 3]>;

/// Comments: mostly none or one, so one is kept inline.
pub type Texts<'a> = SmallVec<[Cow<'a, str>; 1]>;

/// Flags: RUN and COPY often have two (`--mount` twice, `--from` and
/// `--chown`), so two are kept inline.
pub type Flags<'a> = SmallVec<[Cow<'a, str>; 2]>;

/// Arguments as a list that keeps one inline: a list already on the heap
/// is handed over, not copied.
pub fn into_texts(mut args: Args<'_>) -> Texts<'_> {
    if args.spilled() {
        return Texts::from_vec(args.into_vec());
    }
    match args.len() {
        0 => Texts::new(),
        1 => args.pop().into_iter().collect(),
        _ => Texts::from_vec(args.into_vec()),
    }
}

/// `text[range]`, still borrowed from the source when `text` is.
#[inline]
pub fn piece<'a>(text: &Cow<'a, str>, range: std::ops::Range<usize>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(&t[range]),
        Cow::Owned(t) => Cow::Owned(t[range].to_string()),
    }
}

/// The same texts, each owning its characters.
pub fn owned_texts<'a, 'b, C>(texts: impl IntoIterator<Item = Cow<'a, str>>) -> C
where
    C: FromIterator<Cow<'b, str>>,
{
    texts
        .into_iter()
        .map(|t| Cow::Owned(t.into_owned()))
        .collect()
}

/// A here-document attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heredoc {
    /// The delimiter word, quotes removed.
    pub name: String,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when absent.
    pub fd: u64,
    /// Variables are expanded in the body (the delimiter was not quoted).
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body.
    pub chomp: bool,
    /// The raw body, every line with its line ending, tabs not stripped.
    pub content: String,
}

impl Heredoc {
    /// The body as the build sees it: leading tabs removed when `chomp`.
    pub fn chomped_content(&self) -> String {
        if !self.chomp {
            return self.content.clone();
        }
        self.content
            .split_inclusive('\n')
            .map(|line| line.trim_start_matches('\t'))
            .collect()
    }
}
