//! The untyped syntax tree: one node per instruction, as BuildKit's parser
//! reads it, with the original text, line range and byte span kept.

use crate::located::Span;

/// A whole Dockerfile as read by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerfile {
    /// Parser directives (`# syntax=…`, `# escape=…`, `# check=…`) in file order.
    pub directives: Vec<Directive>,
    /// The escape character: `\` or `` ` ``.
    pub escape: char,
    pub nodes: Vec<Node>,
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
pub struct Node {
    /// The keyword as written (`run`, `Run`, `RUN`).
    pub keyword: String,
    /// Flags as written, without a bare `--` (`--from=build`).
    pub flags: Vec<String>,
    /// Arguments as BuildKit's parser splits them. ENV and LABEL give
    /// key, value, separator triples.
    pub args: Vec<String>,
    /// The exec (JSON array) form was used.
    pub json: bool,
    /// For ONBUILD: the nested instruction.
    pub sub: Option<Box<Node>>,
    pub heredocs: Vec<Heredoc>,
    /// Comment lines just before the instruction, without their `#`.
    pub comments: Vec<String>,
    /// The logical line (continuations joined), without heredoc bodies.
    pub original: String,
    /// 1-based, inclusive; the end covers heredoc bodies. 0 for nested nodes.
    pub start_line: usize,
    pub end_line: usize,
    /// Bytes of the source from the start of the first line to the end of the last.
    pub span: Span,
}

impl Node {
    /// The keyword lower-cased, which is how instructions are matched.
    pub fn name(&self) -> String {
        self.keyword.to_lowercase()
    }
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
