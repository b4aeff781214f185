//! Variable expansion in Dockerfile words, following BuildKit's shell lexer
//! (`frontend/dockerfile/shell/lex.go`): `$VAR`, `${VAR}`, the modifiers
//! `:-` `-` `:+` `+` `:?` `?`, prefix/suffix removal `#` `##` `%` `%%`,
//! single quotes (literal), double quotes (only `$`, `"` and the escape
//! character are special) and the escape character outside quotes.
//!
//! It knows nothing of stages or ARG scoping: callers pass the variables
//! visible at that point (see `scope`).

use std::collections::BTreeMap;

/// Variables visible to an expansion: name → value. Absent = unset.
pub type Vars = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("unexpected end of text while looking for matching {0}")]
    Unterminated(&'static str),
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("`${{…}}` nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// The deepest `${…}` nesting expanded: each level recurses, and a value
/// nested thousands deep would overflow the stack. `stages check` refuses
/// such values in stages.toml with the same bound.
const MAX_DEPTH: usize = 64;

/// The expanded word, whitespace kept (ENV values, WORKDIR, USER, LABEL…).
pub fn expand_word(word: &str, vars: &Vars) -> Result<String, ExpandError> {
    Ok(Lexer::new(word, vars).run()?.0)
}

/// The expanded text split into words after expansion, quotes keeping
/// their spaces (COPY sources, EXPOSE, VOLUME…).
pub fn expand_words(word: &str, vars: &Vars) -> Result<Vec<String>, ExpandError> {
    Ok(Lexer::new(word, vars).run()?.1)
}

/// A value of ENV, LABEL or ARG as stages.toml holds it: literal text in
/// which only `$` expands and `\$` is a literal dollar, the way the
/// exported Dockerfile spells it (double-quoted, with `"` and `\` escaped
/// but for the `\` of `\$`).
pub fn expand_value(text: &str, vars: &Vars) -> Result<String, ExpandError> {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || (c == ESCAPE && chars.peek() != Some(&'$')) {
            quoted.push(ESCAPE);
        }
        quoted.push(c);
    }
    quoted.push('"');
    expand_word(&quoted, vars)
}

const ESCAPE: char = '\\';

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    vars: &'a Vars,
    raw_escapes: bool,
    /// How many `${…}` enclose the text being read.
    depth: usize,
}

/// Word splitting state: characters from `$` expansions and plain text split
/// on whitespace; quoted and escaped characters never do.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, text: &str) {
        text.chars().for_each(|ch| self.add_char(ch));
    }

    fn add_raw_string(&mut self, text: &str) {
        self.word.push_str(text);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
        }
        self.words
    }
}

impl<'a> Lexer<'a> {
    fn new(word: &str, vars: &'a Vars) -> Self {
        Self {
            chars: word.chars().collect(),
            pos: 0,
            vars,
            raw_escapes: false,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn run(&mut self) -> Result<(String, Vec<String>), ExpandError> {
        self.process_until(None, false)
    }

    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let outcome = self.process_until_inner(stop);
        self.raw_escapes = saved;
        outcome
    }

    fn process_until_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    words.add_string(&value);
                }
                '\'' => {
                    let value = self.single_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                '"' => {
                    let value = self.double_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                _ => {
                    self.next();
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if stop.is_some() {
            return Err(ExpandError::MissingBrace);
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, ExpandError> {
        self.next();
        let mut result = String::new();
        loop {
            match self.next() {
                None => return Err(ExpandError::Unterminated("single-quote")),
                Some('\'') => return Ok(result),
                Some(ch) => result.push(ch),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, ExpandError> {
        self.next();
        let mut result = String::new();
        loop {
            match self.peek() {
                None => return Err(ExpandError::Unterminated("double-quote")),
                Some('"') => {
                    self.next();
                    return Ok(result);
                }
                Some('$') => result.push_str(&self.dollar()?),
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(next @ ('"' | '$' | ESCAPE)) => {
                                self.next();
                                ch = next;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(self.lookup(&name).unwrap_or_default());
        }
        self.next();
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        let Some(mut modifier) = self.next() else {
            return Err(ExpandError::MissingBrace);
        };
        let mut spelled = modifier.to_string();
        let mut null_is_unset = false;
        match modifier {
            '}' => return Ok(self.lookup(&name).unwrap_or_default()),
            ':' => {
                null_is_unset = true;
                match self.next() {
                    Some(ch) => {
                        modifier = ch;
                        spelled.push(ch);
                    }
                    None => return Err(ExpandError::MissingBrace),
                }
            }
            '+' | '-' | '?' | '#' | '%' => {}
            _ => return Err(ExpandError::UnsupportedModifier(spelled)),
        }
        let raw = modifier == '#' || modifier == '%';
        if self.depth >= MAX_DEPTH {
            return Err(ExpandError::TooDeep);
        }
        self.depth += 1;
        let word = self.process_until(Some('}'), raw);
        self.depth -= 1;
        let (word, _) = word?;
        let value = self.lookup(&name);
        let empty_or_unset = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match modifier {
            '-' => Ok(if empty_or_unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            '+' => Ok(if empty_or_unset { String::new() } else { word }),
            '?' => match value {
                None => Err(required(name, word, "is not allowed to be unset")),
                Some(v) if null_is_unset && v.is_empty() => {
                    Err(required(name, word, "is not allowed to be empty"))
                }
                Some(v) => Ok(v),
            },
            '#' | '%' => {
                let value = value.unwrap_or_default();
                let (greedy, pattern) = match word.strip_prefix(modifier) {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, word),
                };
                Ok(trim_pattern(&value, &pattern, greedy, modifier == '#'))
            }
            _ => Err(ExpandError::UnsupportedModifier(spelled)),
        }
    }

    /// A name: letters, digits and `_`; a run of digits or one special
    /// parameter (`$@`, `$1`) when it starts with one.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(digit) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(digit);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

fn required(name: String, word: String, default_message: &str) -> ExpandError {
    let message = if word.is_empty() {
        default_message.to_owned()
    } else {
        word
    };
    ExpandError::Required { name, message }
}

/// `${v#p}` / `${v##p}` (prefix) and `${v%p}` / `${v%%p}` (suffix) with the
/// shell pattern characters `*` and `?` (`\` quotes the next one).
fn trim_pattern(value: &str, pattern: &str, greedy: bool, prefix: bool) -> String {
    let pattern = parse_pattern(pattern);
    let boundaries: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(value.len()))
        .collect();
    let candidates: Box<dyn Iterator<Item = &usize>> = match (prefix, greedy) {
        (true, false) | (false, true) => Box::new(boundaries.iter()),
        (true, true) | (false, false) => Box::new(boundaries.iter().rev()),
    };
    for &cut in candidates {
        if prefix && glob_match(&pattern, &value[..cut]) {
            return value[cut..].to_owned();
        }
        if !prefix && glob_match(&pattern, &value[cut..]) {
            return value[..cut].to_owned();
        }
    }
    value.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PatternToken {
    Literal(char),
    AnyOne,
    AnyRun,
}

fn parse_pattern(pattern: &str) -> Vec<PatternToken> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        tokens.push(match ch {
            '*' => PatternToken::AnyRun,
            '?' => PatternToken::AnyOne,
            ESCAPE => match chars.next() {
                Some(next) => PatternToken::Literal(next),
                None => PatternToken::Literal(ESCAPE),
            },
            other => PatternToken::Literal(other),
        });
    }
    tokens
}

fn glob_match(pattern: &[PatternToken], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(PatternToken::AnyRun) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(PatternToken::AnyOne) => {
                p += 1;
                t += 1;
            }
            Some(PatternToken::Literal(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    p = bp + 1;
                    t = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == PatternToken::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [
            ("FOO", "foo"),
            ("EMPTY", ""),
            ("SPACED", "a b  c"),
            ("PATH_LIKE", "/usr/local/bin/tool.tar.gz"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn expands_words_like_buildkit() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("$FOO", "foo"),
            ("${FOO}", "foo"),
            ("x${FOO}y", "xfooy"),
            ("$FOO/bar", "foo/bar"),
            ("$FOOBAR", ""),
            ("$UNSET", ""),
            ("$", "$"),
            ("a$", "a$"),
            ("$ x", "$ x"),
            ("$1", ""),
            ("$@x", "x"),
            ("${UNSET:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${UNSET-def}", "def"),
            ("${FOO:-def}", "foo"),
            ("${FOO:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${FOO:?oops}", "foo"),
            ("${UNSET:-$FOO}", "foo"),
            ("${UNSET:-${EMPTY:-nested}}", "nested"),
            ("${UNSET:-a b}", "a b"),
            ("'$FOO'", "$FOO"),
            ("\"$FOO\"", "foo"),
            ("\"'$FOO'\"", "'foo'"),
            ("\\$FOO", "$FOO"),
            ("\\\\$FOO", "\\foo"),
            ("\"\\$FOO\"", "$FOO"),
            ("\"a\\b\"", "a\\b"),
            ("\"a\\\"b\"", "a\"b"),
            ("a\\ b", "a b"),
            ("trailing\\", "trailing"),
            ("${PATH_LIKE#*/}", "usr/local/bin/tool.tar.gz"),
            ("${PATH_LIKE##*/}", "tool.tar.gz"),
            ("${PATH_LIKE%.*}", "/usr/local/bin/tool.tar"),
            ("${PATH_LIKE%%.*}", "/usr/local/bin/tool"),
            ("${PATH_LIKE#nomatch}", "/usr/local/bin/tool.tar.gz"),
            ("${FOO%?}", "fo"),
            ("${FOO:#f}", "oo"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                expand_word(input, &vars()).as_deref(),
                Ok(*expected),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn values_are_literal_but_for_expansions() {
        let cases: &[(&str, &str)] = &[
            ("it's $FOO", "it's foo"),
            (r#"say "hi" \ ${FOO}"#, r#"say "hi" \ foo"#),
            ("a  b", "a  b"),
            ("${UNSET:-x y}", "x y"),
            ("", ""),
            (r"\$FOO and $FOO", "$FOO and foo"),
            (r"C:\dir", r"C:\dir"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                expand_value(input, &vars()).as_deref(),
                Ok(*expected),
                "{input:?}"
            );
        }
    }

    #[test]
    fn splits_words_after_expansion() {
        let cases: &[(&str, &[&str])] = &[
            ("a b", &["a", "b"]),
            ("  a   b  ", &["a", "b"]),
            ("$SPACED", &["a", "b", "c"]),
            ("\"$SPACED\"", &["a b  c"]),
            ("'a b' c", &["a b", "c"]),
            ("a\\ b c", &["a b", "c"]),
            ("x${FOO}y z", &["xfooy", "z"]),
            ("", &[]),
        ];
        for (input, expected) in cases {
            let words = expand_words(input, &vars());
            let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
            assert_eq!(words, Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn nesting_past_the_bound_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}x{}", "${A:-".repeat(5_000), "}".repeat(5_000));
        assert_eq!(expand_value(&deep, &vars()), Err(ExpandError::TooDeep));
        let shallow = format!("{}x{}", "${A:-".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(expand_value(&shallow, &vars()).is_ok());
    }

    #[test]
    fn reports_malformed_and_required_values() {
        let cases: &[(&str, ExpandError)] = &[
            ("${FOO", ExpandError::MissingBrace),
            ("${", ExpandError::MissingBrace),
            ("${}", ExpandError::BadSubstitution),
            ("${:-x}", ExpandError::BadSubstitution),
            ("'open", ExpandError::Unterminated("single-quote")),
            ("\"open", ExpandError::Unterminated("double-quote")),
            ("${FOO:-x", ExpandError::MissingBrace),
            ("${FOO^}", ExpandError::UnsupportedModifier("^".into())),
            ("${FOO:/x}", ExpandError::UnsupportedModifier(":/".into())),
            (
                "${UNSET:?needs a value}",
                ExpandError::Required {
                    name: "UNSET".into(),
                    message: "needs a value".into(),
                },
            ),
            (
                "${UNSET?}",
                ExpandError::Required {
                    name: "UNSET".into(),
                    message: "is not allowed to be unset".into(),
                },
            ),
            (
                "${EMPTY:?}",
                ExpandError::Required {
                    name: "EMPTY".into(),
                    message: "is not allowed to be empty".into(),
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                expand_word(input, &vars()),
                Err(expected.clone()),
                "input {input:?}"
            );
        }
        assert_eq!(expand_word("${EMPTY?}", &vars()), Ok(String::new()));
    }
}
