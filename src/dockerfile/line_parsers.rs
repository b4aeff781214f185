//! Per-instruction argument parsers, after BuildKit's `line_parsers.go`:
//! each turns the text after the keyword and flags into arguments.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::keyword::Keyword;
use super::split::{byte_is_space, split_separators_into};
use super::syntax::{Args, owned_texts};

/// What an argument parser tells besides the arguments, which it adds to
/// the list it is given (text borrowed from the line where it appears
/// there as it is).
#[derive(Debug, Default)]
pub struct Parsed<'a> {
    pub json: bool,
    /// For ONBUILD: the text of the nested instruction.
    pub sub_line: Option<&'a str>,
}

/// A parser-level error message (located by the caller).
#[derive(Debug)]
pub struct ArgError {
    pub code: &'static str,
    pub message: String,
}

type ParseResult<'a> = Result<Parsed<'a>, ArgError>;

/// Dispatches on the keyword; `None` is an instruction BuildKit does not
/// know. The arguments are added to `args`, which starts empty: the parser
/// passes the node's own list, so they are made where they are kept.
pub fn parse_args<'a>(
    keyword: Option<Keyword>,
    rest: &'a str,
    escape: char,
    args: &mut Args<'a>,
) -> ParseResult<'a> {
    let plain = Ok(Parsed::default());
    let Some(keyword) = keyword else {
        // Unknown instructions keep one empty argument, as BuildKit's dump shows.
        args.push(Cow::Borrowed(""));
        return plain;
    };
    match keyword {
        Keyword::Add | Keyword::Copy | Keyword::Volume => maybe_json_to_list(rest, args),
        Keyword::Arg => {
            for_each_word(rest, escape, |w| args.push(Cow::Borrowed(w)));
            plain
        }
        Keyword::Cmd | Keyword::Entrypoint | Keyword::Run | Keyword::Shell => {
            maybe_json(rest, args)
        }
        Keyword::Env => name_val(rest, "ENV", escape, args).and(plain),
        Keyword::Label => name_val(rest, "LABEL", escape, args).and(plain),
        Keyword::Expose | Keyword::From => {
            whitespace_delimited(rest, args);
            plain
        }
        Keyword::Healthcheck => health_config(rest, args),
        Keyword::Maintainer | Keyword::Stopsignal | Keyword::User | Keyword::Workdir => {
            if !rest.is_empty() {
                args.push(Cow::Borrowed(rest));
            }
            plain
        }
        Keyword::Onbuild => Ok(Parsed {
            sub_line: (!rest.is_empty()).then_some(rest),
            ..Parsed::default()
        }),
    }
}

fn whitespace_delimited<'a>(rest: &'a str, args: &mut Args<'a>) {
    if !rest.is_empty() {
        split_separators_into(rest, 0, args);
    }
}

/// Words separated by whitespace; quotes and escapes are kept in the words,
/// so each word is a slice of `rest` (a lone escape at the very end is dropped).
pub fn parse_words(rest: &str, escape: char) -> Vec<&str> {
    let mut words = Vec::new();
    for_each_word(rest, escape, |w| words.push(w));
    words
}

/// Calls `each` with every word [`parse_words`] finds.
fn for_each_word<'a>(rest: &'a str, escape: char, mut each: impl FnMut(&'a str)) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    // The word is `rest[start..end]`.
    let mut start = 0;
    let mut end = 0;
    let mut at = 0;
    let bytes = rest.as_bytes();
    // The escape is `\` or `` ` ``, both ASCII.
    let escape_byte = u8::try_from(escape).unwrap_or(b'\\');
    loop {
        // Runs of bytes that only lengthen the word are skipped at once; they
        // stop at an ASCII byte, so `at` stays on a character boundary.
        let skip = match phase {
            Phase::Spaces => 0,
            Phase::Word => bytes[at..]
                .iter()
                .position(|&b| !b.is_ascii() || ends_plain_run(b, escape_byte))
                .unwrap_or(bytes.len() - at),
            Phase::Quote if quote == '\'' => {
                memchr::memchr(b'\'', &bytes[at..]).unwrap_or(bytes.len() - at)
            }
            Phase::Quote => {
                memchr::memchr2(b'"', escape_byte, &bytes[at..]).unwrap_or(bytes.len() - at)
            }
        };
        if skip > 0 {
            at += skip;
            end = at;
        }
        let Some((ch, len)) = char_at(rest, at) else {
            if phase != Phase::Spaces && (blank_ok || start < end) {
                each(&rest[start..end]);
            }
            break;
        };
        let next = at + len;
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                at = next;
                continue;
            }
            phase = Phase::Word;
            start = at;
            end = at;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || start < end {
                    each(&rest[start..end]);
                }
                blank_ok = false;
                at = next;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            at = next;
            if ch == escape {
                let Some((_, escaped)) = char_at(rest, at) else {
                    continue;
                };
                at += escaped;
            }
            end = at;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
        }
        at = next;
        if ch == escape && quote != '\'' {
            let Some((_, escaped)) = char_at(rest, at) else {
                phase = Phase::Word;
                continue;
            };
            at += escaped;
        }
        end = at;
    }
}

/// Whether an ASCII byte in a word is more than part of it: a blank, a
/// quote or the escape.
fn ends_plain_run(b: u8, escape: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b'\'' | b'"') || b == escape
}

/// The character at byte `at` and its length, reading ASCII without decoding.
fn char_at(text: &str, at: usize) -> Option<(char, usize)> {
    let b = *text.as_bytes().get(at)?;
    if b.is_ascii() {
        return Some((char::from(b), 1));
    }
    let ch = text.get(at..)?.chars().next()?;
    Some((ch, ch.len_utf8()))
}

/// ENV and LABEL: `k=v …` or the legacy `k v`; key, value, separator triples.
#[inline(never)]
fn name_val<'a>(
    rest: &'a str,
    key: &str,
    escape: char,
    args: &mut Args<'a>,
) -> Result<(), ArgError> {
    // Most ENV and LABEL lines hold a few pairs: no vector for those.
    let mut words: SmallVec<[&str; 4]> = SmallVec::new();
    for_each_word(rest, escape, |w| words.push(w));
    let Some(first) = words.first() else {
        return Ok(());
    };
    if !first.contains('=') {
        split_separators_into(rest, 2, args);
        if args.len() < 2 {
            return Err(ArgError {
                code: super::codes::MISSING_VALUE,
                message: format!("{key} must have two arguments"),
            });
        }
        args.push(Cow::Borrowed(""));
        return Ok(());
    }
    args.reserve(words.len() * 3);
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(ArgError {
                code: super::codes::MISSING_EQUALS,
                message: format!(
                    "Syntax error - can't find = in {}. Must be of the form: name=value",
                    super::quote::go_quote(word)
                ),
            });
        };
        args.extend([Cow::Borrowed(k), Cow::Borrowed(v), Cow::Borrowed("=")]);
    }
    Ok(())
}

enum JsonError {
    NotStrings,
    Invalid,
}

/// Adds the strings of the JSON array `rest` to `args`; on an error,
/// `args` is left as it was.
fn parse_json<'a>(rest: &'a str, args: &mut Args<'a>) -> Result<(), JsonError> {
    let rest = super::text::trim_start(rest);
    if !rest.starts_with('[') {
        return Err(JsonError::Invalid);
    }
    let before = args.len();
    if plain_json_strings(rest, args).is_some() {
        return Ok(());
    }
    args.truncate(before);
    json_by_reader(rest, args)
}

/// [`parse_json`] for what the slicing reader leaves: the JSON reader
/// decides. Rare, so kept out of the parser's common path.
#[cold]
#[inline(never)]
fn json_by_reader<'a>(rest: &'a str, args: &mut Args<'a>) -> Result<(), JsonError> {
    let values: Vec<serde_json::Value> =
        serde_json::from_str(rest).map_err(|_| JsonError::Invalid)?;
    let strings: Result<Args<'a>, JsonError> = values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(Cow::Owned(s)),
            _ => Err(JsonError::NotStrings),
        })
        .collect();
    args.extend(strings?);
    Ok(())
}

/// A JSON array of strings without escapes, added to `args` as slices of
/// `text`; `None` for anything else (with some strings perhaps added),
/// which the full JSON reader then decides. Exec forms are nearly always
/// this simple.
fn plain_json_strings<'a>(text: &'a str, args: &mut Args<'a>) -> Option<()> {
    let bytes = text.as_bytes();
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let skip_blanks = |mut at: usize| {
        while bytes.get(at).copied().is_some_and(blank) {
            at += 1;
        }
        at
    };
    let mut at = skip_blanks(1);
    if bytes.get(at) == Some(&b']') {
        return (skip_blanks(at + 1) == bytes.len()).then_some(());
    }
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let start = at + 1;
        let len = bytes
            .get(start..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let end = start + len;
        if bytes[end] != b'"' {
            return None;
        }
        // The quotes are ASCII, so both cuts fall between characters.
        args.push(Cow::Borrowed(&text[start..end]));
        at = skip_blanks(end + 1);
        match bytes.get(at) {
            Some(b',') => at = skip_blanks(at + 1),
            Some(b']') => return (skip_blanks(at + 1) == bytes.len()).then_some(()),
            _ => return None,
        }
    }
}

fn not_strings() -> ArgError {
    ArgError {
        code: super::codes::JSON_NOT_STRINGS,
        message: "when using JSON array syntax, arrays must be comprised of strings only"
            .to_string(),
    }
}

const JSON: Parsed<'static> = Parsed {
    json: true,
    sub_line: None,
};

/// JSON array, else the whole text as one argument.
fn maybe_json<'a>(rest: &'a str, args: &mut Args<'a>) -> ParseResult<'a> {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    match parse_json(rest, args) {
        Ok(()) => Ok(JSON),
        Err(JsonError::NotStrings) => Err(not_strings()),
        Err(JsonError::Invalid) => {
            args.push(Cow::Borrowed(rest));
            Ok(Parsed::default())
        }
    }
}

/// JSON array, else whitespace-separated words.
fn maybe_json_to_list<'a>(rest: &'a str, args: &mut Args<'a>) -> ParseResult<'a> {
    match parse_json(rest, args) {
        Ok(()) => Ok(JSON),
        Err(JsonError::NotStrings) => Err(not_strings()),
        Err(JsonError::Invalid) => {
            whitespace_delimited(rest, args);
            Ok(Parsed::default())
        }
    }
}

/// HEALTHCHECK: a type word (`CMD`, `NONE`), then a command like CMD's.
/// BuildKit splits it at bytes it reads as Latin-1 blanks, which may fall
/// inside a UTF-8 character; such pieces are repaired as Go would print them.
#[inline(never)]
fn health_config<'a>(rest: &'a str, args: &mut Args<'a>) -> ParseResult<'a> {
    let bytes = rest.as_bytes();
    let sep = bytes
        .iter()
        .position(|b| byte_is_space(*b))
        .unwrap_or(bytes.len());
    if sep == 0 {
        return Ok(Parsed::default());
    }
    let next = bytes[sep..]
        .iter()
        .position(|b| !byte_is_space(*b))
        .map_or(bytes.len(), |p| sep + p);
    args.push(String::from_utf8_lossy(&bytes[..sep]));
    match String::from_utf8_lossy(&bytes[next..]) {
        Cow::Borrowed(text) => maybe_json(text, args),
        Cow::Owned(text) => {
            let mut owned = Args::new();
            let parsed = maybe_json(&text, &mut owned)?;
            args.extend(owned_texts::<Args<'_>>(owned));
            Ok(Parsed {
                json: parsed.json,
                sub_line: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// BuildKit's word splitting as first written here, a character at a
    /// time, building each word: what the slicing version must agree with.
    fn reference_words(rest: &str, escape: char) -> Vec<String> {
        #[derive(PartialEq)]
        enum Phase {
            Spaces,
            Word,
            Quote,
        }
        let mut words = Vec::new();
        let mut phase = Phase::Spaces;
        let mut quote = '\0';
        let mut blank_ok = false;
        let mut word = String::new();
        let mut chars = rest.chars();
        loop {
            let Some(mut ch) = chars.next() else {
                if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
                    words.push(word);
                }
                break;
            };
            if phase == Phase::Spaces {
                if ch.is_whitespace() {
                    continue;
                }
                phase = Phase::Word;
            }
            if phase == Phase::Word {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    quote = ch;
                    blank_ok = true;
                    phase = Phase::Quote;
                }
                if ch == escape {
                    let Some(next) = chars.next() else {
                        continue;
                    };
                    word.push(ch);
                    ch = next;
                }
                word.push(ch);
                continue;
            }
            if ch == quote {
                phase = Phase::Word;
            }
            if ch == escape && quote != '\'' {
                let Some(next) = chars.next() else {
                    phase = Phase::Word;
                    continue;
                };
                word.push(ch);
                ch = next;
            }
            word.push(ch);
        }
        words
    }

    /// The full reader, for comparison with the slicing one.
    fn serde_strings(text: &str) -> Option<Vec<String>> {
        serde_json::from_str::<Vec<serde_json::Value>>(text)
            .ok()?
            .into_iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn plain_json_strings_are_sliced() {
        let plain = |t| {
            let mut args = Args::new();
            plain_json_strings(t, &mut args).map(|()| args.into_vec())
        };
        assert_eq!(plain(r#"["a", "b c"]"#).unwrap(), ["a", "b c"]);
        assert_eq!(plain("[ ]\n").unwrap(), Vec::<Cow<str>>::new());
        assert_eq!(plain(r#"["é"]"#).unwrap(), ["é"]);
        for other in [
            r#"["a\"b"]"#,
            r#"["a",]"#,
            r#"["a"] x"#,
            "[1]",
            "[",
            r#"["a"#,
            "[\"\t\"]",
        ] {
            assert!(plain(other).is_none(), "{other}");
        }
    }

    proptest! {
        #[test]
        fn plain_json_strings_agree_with_the_json_reader(tokens in proptest::collection::vec(
            prop_oneof![
                Just("]"), Just(","), Just(" "), Just("\n"), Just("\"a b\""), Just("\"é\""),
                Just("\"\\\"\""), Just("\""), Just("1"), Just("\"\u{1}\""), Just("x"),
            ],
            0..8,
        )) {
            let text = format!("[{}", tokens.concat());
            let mut args = Args::new();
            if plain_json_strings(&text, &mut args).is_some() {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                prop_assert_eq!(Some(args), serde_strings(&text), "{}", text);
            }
        }
    }

    proptest! {
        #[test]
        fn words_match_the_reference(
            rest in "[ a\t\"'\\\\`=é\u{a0}\u{2003}x]{0,24}",
            backtick in any::<bool>(),
        ) {
            let escape = if backtick { '`' } else { '\\' };
            prop_assert_eq!(parse_words(&rest, escape), reference_words(&rest, escape));
        }
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            parse_words(r#"a="b c" d\ e"#, '\\'),
            vec![r#"a="b c""#, r"d\ e"]
        );
    }

    #[test]
    fn env_forms() {
        let args = |keyword, rest| {
            let mut args = Args::new();
            parse_args(Some(keyword), rest, '\\', &mut args).map(|_| args.into_vec())
        };
        let pairs = args(Keyword::Env, "A=1 B=\"2 3\"").unwrap_or_default();
        assert_eq!(pairs, ["A", "1", "=", "B", "\"2 3\"", "="]);
        assert_eq!(
            args(Keyword::Env, "A  1 2").unwrap_or_default(),
            ["A", "1 2", ""]
        );
        assert!(args(Keyword::Env, "PATH").is_err());
    }

    #[test]
    fn json_fallback() {
        let mut args = Args::new();
        let p = parse_args(Some(Keyword::Cmd), "[\"a\", 'b']", '\\', &mut args).unwrap_or_default();
        assert!(!p.json);
        assert_eq!(args.as_slice(), ["[\"a\", 'b']"]);
        let mut args = Args::new();
        assert!(parse_args(Some(Keyword::Cmd), "[\"a\", [\"b\"]]", '\\', &mut args).is_err());
    }
}
