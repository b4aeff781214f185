//! A lexer for the part of POSIX shell that build scripts use: words with
//! quotes, `$VAR`/`${VAR:-default}`/`$(…)`/backticks, line continuations,
//! comments, pipes, `&&`/`||`/`;`/`&`, redirections. Every word keeps its
//! byte span in the original file, so a diagnostic can point at it.
//!
//! It does not evaluate anything: values are expanded later, in script
//! order (`words`). Control keywords (`if`, `for`, …) come out as ordinary
//! first words; the plan gives them meaning.

use crate::located::Span;

/// One piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (quotes and escapes already removed).
    Lit(String),
    /// `$NAME`, `${NAME}`, `${NAME:-default}` (shell) or `$(NAME)` (make).
    Var {
        name: String,
        default: Option<String>,
        make: bool,
    },
    /// `$(…)` or `` `…` ``: known only when the script runs. `text` is the
    /// command inside, `start` its byte offset in the file.
    Subst { text: String, start: usize },
}

/// A shell word, as the parts that make it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub parts: Vec<Part>,
    pub span: Span,
}

impl Word {
    /// The text when the word has no expansion in it.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(text) => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// `>`, `>>`, `<`, `2>`, `2>&1`, `&>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The operator as written, file descriptor included (`2>`).
    pub op: String,
    pub target: Option<Word>,
    pub span: Span,
}

impl Redirect {
    /// Standard output goes to the target file.
    pub fn is_stdout_to_file(&self) -> bool {
        matches!(self.op.as_str(), ">" | ">>" | "1>" | "1>>" | ">|")
    }
}

/// A command with its words and redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    pub span: Span,
}

/// Commands joined by `|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub commands: Vec<Simple>,
    pub span: Span,
}

/// Options of the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dialect {
    /// A Makefile recipe: `$$` is the shell's `$`, `$(X)`/`${X}` are make variables.
    pub make: bool,
}

#[derive(Debug)]
enum Token {
    Word(Word),
    Pipe,
    /// `&&`, `||`, `;`, `&`, newline: ends a pipeline.
    End,
    Redirect(String, Span),
}

/// Lexes `text[range]` (offsets stay those of `text`) into pipelines.
pub fn lex(text: &str, range: Span, dialect: Dialect) -> Vec<Pipeline> {
    let end = range.end.min(text.len());
    let mut lexer = Lexer {
        text,
        pos: range.start.min(end),
        end,
        dialect,
    };
    let tokens = lexer.tokens();
    group(tokens)
}

fn group(tokens: Vec<Token>) -> Vec<Pipeline> {
    let mut pipelines = Vec::new();
    let mut commands: Vec<Simple> = Vec::new();
    let mut current = Simple {
        words: Vec::new(),
        redirects: Vec::new(),
        span: Span::default(),
    };
    let mut pending_redirect: Option<(String, Span)> = None;
    let finish_simple = |current: &mut Simple, commands: &mut Vec<Simple>| {
        if !current.words.is_empty() || !current.redirects.is_empty() {
            commands.push(std::mem::replace(
                current,
                Simple {
                    words: Vec::new(),
                    redirects: Vec::new(),
                    span: Span::default(),
                },
            ));
        }
    };
    let extend = |current: &mut Simple, span: Span| {
        if current.words.is_empty() && current.redirects.is_empty() {
            current.span = span;
        } else {
            current.span.end = current.span.end.max(span.end);
        }
    };
    for token in tokens {
        match token {
            Token::Word(word) => {
                if let Some((op, span)) = pending_redirect.take() {
                    let span = Span::new(span.start, word.span.end);
                    extend(&mut current, span);
                    current.redirects.push(Redirect {
                        op,
                        target: Some(word),
                        span,
                    });
                } else {
                    extend(&mut current, word.span);
                    current.words.push(word);
                }
            }
            Token::Redirect(op, span) => {
                flush_redirect(&mut current, &mut pending_redirect);
                if op.ends_with('&') && op.len() > 1 || op.contains(">&") {
                    // `2>&1`: a duplication, no file.
                    extend(&mut current, span);
                    current.redirects.push(Redirect {
                        op,
                        target: None,
                        span,
                    });
                } else {
                    pending_redirect = Some((op, span));
                }
            }
            Token::Pipe => {
                flush_redirect(&mut current, &mut pending_redirect);
                finish_simple(&mut current, &mut commands);
            }
            Token::End => {
                flush_redirect(&mut current, &mut pending_redirect);
                finish_simple(&mut current, &mut commands);
                if !commands.is_empty() {
                    let span = Span::new(
                        commands[0].span.start,
                        commands.last().map_or(0, |c| c.span.end),
                    );
                    pipelines.push(Pipeline {
                        commands: std::mem::take(&mut commands),
                        span,
                    });
                }
            }
        }
    }
    flush_redirect(&mut current, &mut pending_redirect);
    finish_simple(&mut current, &mut commands);
    if !commands.is_empty() {
        let span = Span::new(
            commands[0].span.start,
            commands.last().map_or(0, |c| c.span.end),
        );
        pipelines.push(Pipeline { commands, span });
    }
    pipelines
}

fn flush_redirect(current: &mut Simple, pending: &mut Option<(String, Span)>) {
    if let Some((op, span)) = pending.take() {
        current.redirects.push(Redirect {
            op,
            target: None,
            span,
        });
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    end: usize,
    dialect: Dialect,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.text.get(self.pos..self.end)?.chars().nth(ahead)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn tokens(&mut self) -> Vec<Token> {
        let mut tokens = Vec::new();
        // Here-documents opened on this line: delimiter, and whether `<<-` strips tabs.
        let mut heredocs: Vec<(String, bool)> = Vec::new();
        let mut expecting_delimiter: Option<bool> = None;
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                '\\' if self.peek_at(1) == Some('\n') => {
                    self.pos += 2;
                }
                '\n' => {
                    self.bump();
                    for (delimiter, strip_tabs) in heredocs.drain(..) {
                        self.skip_heredoc(&delimiter, strip_tabs);
                    }
                    tokens.push(Token::End);
                }
                ';' => {
                    self.bump();
                    tokens.push(Token::End);
                }
                '#' => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                '&' => {
                    self.bump();
                    if self.peek() == Some('>') {
                        self.bump();
                        tokens.push(Token::Redirect("&>".into(), Span::new(start, self.pos)));
                    } else {
                        if self.peek() == Some('&') {
                            self.bump();
                        }
                        tokens.push(Token::End);
                    }
                }
                '|' => {
                    self.bump();
                    if self.peek() == Some('|') {
                        self.bump();
                        tokens.push(Token::End);
                    } else {
                        if self.peek() == Some('&') {
                            self.bump();
                        }
                        tokens.push(Token::Pipe);
                    }
                }
                '(' | ')' => {
                    // Subshells: their commands run in order like the rest.
                    self.bump();
                    tokens.push(Token::End);
                }
                '{' | '}' if matches!(self.peek_at(1), None | Some(' ' | '\t' | '\n' | ';')) => {
                    self.bump();
                    tokens.push(Token::End);
                }
                '<' | '>' => {
                    let token = self.redirect(String::new(), start);
                    if let Token::Redirect(op, _) = &token
                        && op.starts_with("<<")
                        && !op.starts_with("<<<")
                    {
                        expecting_delimiter = Some(op.ends_with('-'));
                    }
                    tokens.push(token);
                }
                '0'..='9' if self.is_fd_redirect() => {
                    let fd = self.bump().map(String::from).unwrap_or_default();
                    tokens.push(self.redirect(fd, start));
                }
                _ => {
                    let word = self.word();
                    if let Some(strip_tabs) = expecting_delimiter.take() {
                        let delimiter = word.literal().unwrap_or_default();
                        heredocs.push((delimiter, strip_tabs));
                    }
                    tokens.push(Token::Word(word));
                }
            }
        }
        tokens.push(Token::End);
        tokens
    }

    /// Skips a here-document body, up to and including its delimiter line.
    fn skip_heredoc(&mut self, delimiter: &str, strip_tabs: bool) {
        while self.pos < self.end {
            let rest = &self.text[self.pos..self.end];
            let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let line = rest[..line_end].trim_end_matches(['\n', '\r']);
            let line = if strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            self.pos += line_end;
            if line == delimiter {
                return;
            }
        }
    }

    fn is_fd_redirect(&self) -> bool {
        matches!(self.peek_at(1), Some('<' | '>'))
    }

    fn redirect(&mut self, mut op: String, start: usize) -> Token {
        if let Some(c) = self.bump() {
            op.push(c);
        }
        while let Some(c) = self.peek() {
            if c == '-' && op == "<<" {
                op.push(c);
                self.bump();
                break;
            }
            if matches!(c, '>' | '&' | '|') || (c == '<' && op.ends_with('<')) {
                op.push(c);
                self.bump();
                if c == '&' {
                    // `>&2`, `2>&1`: the descriptor belongs to the operator.
                    while let Some(d) = self.peek().filter(|d| d.is_ascii_digit() || *d == '-') {
                        op.push(d);
                        self.bump();
                    }
                    break;
                }
            } else {
                break;
            }
        }
        Token::Redirect(op, Span::new(start, self.pos))
    }

    fn word(&mut self) -> Word {
        let start = self.pos;
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, parts: &mut Vec<Part>| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit)));
            }
        };
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(c) => lit.push(c),
                    }
                }
                '\'' => {
                    self.bump();
                    while let Some(c) = self.bump() {
                        if c == '\'' {
                            break;
                        }
                        lit.push(c);
                    }
                    if parts.is_empty() && lit.is_empty() {
                        // '' is an empty word, not nothing.
                        parts.push(Part::Lit(String::new()));
                    }
                }
                '"' => {
                    self.bump();
                    let had_parts = !parts.is_empty() || !lit.is_empty();
                    self.double_quoted(&mut lit, &mut parts);
                    if !had_parts && parts.is_empty() && lit.is_empty() {
                        parts.push(Part::Lit(String::new()));
                    }
                }
                '$' => {
                    if let Some(part) = self.dollar() {
                        flush(&mut lit, &mut parts);
                        parts.push(part);
                    } else {
                        lit.push('$');
                    }
                }
                '`' => {
                    flush(&mut lit, &mut parts);
                    parts.push(self.backtick());
                }
                _ => {
                    self.bump();
                    lit.push(c);
                }
            }
        }
        flush(&mut lit, &mut parts);
        Word {
            parts,
            span: Span::new(start, self.pos),
        }
    }

    fn double_quoted(&mut self, lit: &mut String, parts: &mut Vec<Part>) {
        while let Some(c) = self.peek() {
            match c {
                '"' => {
                    self.bump();
                    return;
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(e @ ('$' | '`' | '"' | '\\')) => lit.push(e),
                        Some(other) => {
                            lit.push('\\');
                            lit.push(other);
                        }
                    }
                }
                '$' => {
                    if let Some(part) = self.dollar() {
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(lit)));
                        }
                        parts.push(part);
                    } else {
                        lit.push('$');
                    }
                }
                '`' => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(lit)));
                    }
                    parts.push(self.backtick());
                }
                _ => {
                    self.bump();
                    lit.push(c);
                }
            }
        }
    }

    /// At a `$`: an expansion, or `None` for a lone `$` (consumed).
    fn dollar(&mut self) -> Option<Part> {
        self.bump();
        let make = self.dialect.make;
        if make {
            match self.peek() {
                Some('$') => {
                    // `$$` is the shell's `$`: read what follows as shell.
                    let shell = Lexer {
                        dialect: Dialect { make: false },
                        text: self.text,
                        pos: self.pos,
                        end: self.end,
                    };
                    let mut shell = shell;
                    let part = shell.dollar();
                    self.pos = shell.pos;
                    return part;
                }
                Some(open @ ('(' | '{')) => {
                    let close = if open == '(' { ')' } else { '}' };
                    self.bump();
                    let inner_start = self.pos;
                    let inner = self.balanced(open, close);
                    if let Some(command) = inner.strip_prefix("shell ") {
                        return Some(Part::Subst {
                            text: command.to_owned(),
                            start: inner_start + "shell ".len(),
                        });
                    }
                    return Some(Part::Var {
                        name: inner.trim().to_owned(),
                        default: None,
                        make: true,
                    });
                }
                _ => {}
            }
        }
        match self.peek() {
            Some('(') => {
                self.bump();
                let arithmetic = self.peek() == Some('(');
                let start = self.pos;
                let text = self.balanced('(', ')');
                let text = if arithmetic {
                    text.trim_start_matches('(')
                        .trim_end_matches(')')
                        .to_owned()
                } else {
                    text
                };
                Some(Part::Subst { text, start })
            }
            Some('{') => {
                self.bump();
                let inner = self.balanced('{', '}');
                let (name, default) = split_default(&inner);
                Some(Part::Var {
                    name,
                    default,
                    make: false,
                })
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    name.push(c);
                    self.bump();
                }
                Some(Part::Var {
                    name,
                    default: None,
                    make: false,
                })
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.bump();
                Some(Part::Var {
                    name: c.to_string(),
                    default: None,
                    make: false,
                })
            }
            _ => None,
        }
    }

    /// The text up to the `close` that balances an already consumed `open`.
    fn balanced(&mut self, open: char, close: char) -> String {
        let start = self.pos;
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.bump() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), '\\') => {
                    self.bump();
                }
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '\\') => {
                    self.bump();
                }
                (None, c) if c == open => depth += 1,
                (None, c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return self.text[start..self.pos - c.len_utf8()].to_owned();
                    }
                }
                _ => {}
            }
        }
        self.text[start..self.pos].to_owned()
    }

    fn backtick(&mut self) -> Part {
        self.bump();
        let start = self.pos;
        while let Some(c) = self.bump() {
            if c == '\\' {
                self.bump();
            } else if c == '`' {
                return Part::Subst {
                    text: self.text[start..self.pos - 1].to_owned(),
                    start,
                };
            }
        }
        Part::Subst {
            text: self.text[start..self.pos].to_owned(),
            start,
        }
    }
}

/// `NAME:-default`, `NAME-default`, `NAME:=default` → name and default.
fn split_default(inner: &str) -> (String, Option<String>) {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_end);
    let default = [":-", ":=", "-", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op))
        .map(|d| d.trim_matches('"').to_owned());
    (name.to_owned(), default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        lex(text, Span::new(0, text.len()), Dialect::default())
            .into_iter()
            .flat_map(|p| p.commands)
            .map(|c| {
                c.words
                    .iter()
                    .map(|w| w.literal().unwrap_or_else(|| format!("{:?}", w.parts)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_commands_and_keeps_spans() {
        let text = "docker build -t a:b . \\\n  -f Dockerfile.build\necho 'hi there' && rm -f app";
        let lexed = lex(text, Span::new(0, text.len()), Dialect::default());
        assert_eq!(lexed.len(), 3);
        let build = &lexed[0].commands[0];
        let last = build.words.last().expect("words");
        assert_eq!(&text[last.span.start..last.span.end], "Dockerfile.build");
        assert_eq!(
            words(text)[1],
            ["echo".to_owned(), "hi there".to_owned()].to_vec()
        );
    }

    #[test]
    fn reads_expansions() {
        let text = r#"docker cp "$ID":/out/${NAME:-app} x"#;
        let lexed = lex(text, Span::new(0, text.len()), Dialect::default());
        let cp = &lexed[0].commands[0].words[2];
        assert_eq!(
            cp.parts,
            vec![
                Part::Var {
                    name: "ID".into(),
                    default: None,
                    make: false
                },
                Part::Lit(":/out/".into()),
                Part::Var {
                    name: "NAME".into(),
                    default: Some("app".into()),
                    make: false
                },
            ]
        );
    }

    #[test]
    fn pipes_and_redirections() {
        let text = "docker run --rm img cat /app > app 2>/dev/null | tar -x";
        let lexed = lex(text, Span::new(0, text.len()), Dialect::default());
        assert_eq!(lexed[0].commands.len(), 2);
        let run = &lexed[0].commands[0];
        assert_eq!(run.redirects.len(), 2);
        assert!(run.redirects[0].is_stdout_to_file());
        assert_eq!(
            run.redirects[0]
                .target
                .as_ref()
                .and_then(Word::literal)
                .as_deref(),
            Some("app")
        );
    }

    #[test]
    fn command_substitution_keeps_its_offset() {
        let text = "ID=$(docker create app:build)";
        let lexed = lex(text, Span::new(0, text.len()), Dialect::default());
        let Part::Subst { text: inner, start } = &lexed[0].commands[0].words[0].parts[1] else {
            panic!("expected a substitution: {lexed:?}");
        };
        assert_eq!(inner, "docker create app:build");
        assert_eq!(&text[*start..*start + inner.len()], inner);
    }

    #[test]
    fn make_variables_and_double_dollars() {
        let text = "docker build -t $(IMAGE) . && echo $$HOME";
        let lexed = lex(text, Span::new(0, text.len()), Dialect { make: true });
        assert_eq!(
            lexed[0].commands[0].words[3].parts,
            vec![Part::Var {
                name: "IMAGE".into(),
                default: None,
                make: true
            }]
        );
        assert_eq!(
            lexed[1].commands[0].words[1].parts,
            vec![Part::Var {
                name: "HOME".into(),
                default: None,
                make: false
            }]
        );
    }

    #[test]
    fn here_documents_are_skipped() {
        let text = "cat > Dockerfile <<'EOF'\nFROM x\ndocker build .\nEOF\ncat <<-END | sh\n\trm -rf /\n\tEND\necho done";
        assert_eq!(
            words(text),
            vec![vec!["cat"], vec!["cat"], vec!["sh"], vec!["echo", "done"],]
        );
    }

    #[test]
    fn comments_and_empty_quotes() {
        assert_eq!(
            words("# nothing\nrm -f '' # gone"),
            vec![vec!["rm", "-f", ""]]
        );
    }
}
