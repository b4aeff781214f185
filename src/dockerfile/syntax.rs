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
    pub flags: Texts<'a>,
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

/// Every instruction keyword BuildKit knows, lower-cased.
pub const KEYWORDS: &[&str] = &[
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

/// A keyword lower-cased as Go's `strings.ToLower` does; a known one is
/// given without allocating, since every instruction is matched this way.
pub fn lower_keyword(keyword: &str) -> Cow<'static, str> {
    let candidate = keyword_candidate(keyword.as_bytes());
    // Keywords are letters only, and a byte is a given lower-case letter
    // in either case exactly when setting its 0x20 bit gives that letter.
    let same = candidate.len() == keyword.len()
        && candidate
            .bytes()
            .zip(keyword.bytes())
            .all(|(k, b)| (b | 0x20) == k);
    if same {
        return Cow::Borrowed(candidate);
    }
    if keyword.is_ascii() {
        return Cow::Owned(keyword.to_ascii_lowercase());
    }
    // Non-ASCII letters may lower-case to ASCII ones (the Kelvin sign is `k`).
    let lower = keyword.to_lowercase();
    KEYWORDS
        .iter()
        .find(|k| **k == lower)
        .map_or(Cow::Owned(lower), |k| Cow::Borrowed(k))
}

/// The only keyword `bytes` can be, told by its length and first letters
/// (one comparison per line instead of a search); `""` when there is none.
fn keyword_candidate(bytes: &[u8]) -> &'static str {
    let letter = |i: usize| bytes.get(i).map_or(0, |b| b | 0x20);
    match (bytes.len(), letter(0)) {
        (3, b'a') if letter(1) == b'd' => "add",
        (3, b'a') => "arg",
        (3, b'c') => "cmd",
        (3, b'e') => "env",
        (3, b'r') => "run",
        (4, b'c') => "copy",
        (4, b'f') => "from",
        (4, b'u') => "user",
        (5, b'l') => "label",
        (5, b's') => "shell",
        (6, b'e') => "expose",
        (6, b'v') => "volume",
        (7, b'o') => "onbuild",
        (7, b'w') => "workdir",
        (10, b'e') => "entrypoint",
        (10, b'm') => "maintainer",
        (10, b's') => "stopsignal",
        (11, b'h') => "healthcheck",
        _ => "",
    }
}

/// An instruction's arguments. Most instructions have up to three, which
/// are kept inline: a vector each would be most of what parsing allocates.
pub type Args<'a> = SmallVec<[Cow<'a, str>; 3]>;

/// Flags or comments: mostly none or one, so one is kept inline.
pub type Texts<'a> = SmallVec<[Cow<'a, str>; 1]>;

/// `text[range]`, still borrowed from the source when `text` is.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_its_own_candidate() {
        // The match spells the keywords again: it names no word that is not one.
        for len in 0..13 {
            for first in b'a'..=b'z' {
                for second in [b'd', b'r', b'x'] {
                    let mut word = vec![b'x'; len];
                    if let Some(b) = word.get_mut(0) {
                        *b = first;
                    }
                    if let Some(b) = word.get_mut(1) {
                        *b = second;
                    }
                    let candidate = keyword_candidate(&word);
                    assert!(candidate.is_empty() || KEYWORDS.contains(&candidate));
                    assert!(candidate.is_empty() || candidate.len() == len);
                }
            }
        }
        for k in KEYWORDS {
            assert_eq!(keyword_candidate(k.as_bytes()), *k);
            assert_eq!(lower_keyword(&k.to_uppercase()), *k);
            assert_eq!(lower_keyword(&k[..1].to_uppercase()), k[..1]);
        }
        assert_eq!(lower_keyword("RuN"), "run");
        assert_eq!(lower_keyword("RUNS"), "runs");
        assert_eq!(lower_keyword("ARD"), "ard");
        assert_eq!(lower_keyword("WOR\u{212a}DIR"), "workdir");
        assert_eq!(lower_keyword("É"), "é");
        assert!(matches!(lower_keyword("Copy"), Cow::Borrowed("copy")));
    }
}
