//! Per-instruction argument parsers, after BuildKit's `line_parsers.go`:
//! each turns the text after the keyword and flags into arguments.

use super::split::{byte_is_space, split_separators};

/// What an argument parser gives back.
#[derive(Debug, Default)]
pub struct Parsed {
    pub args: Vec<String>,
    pub json: bool,
    /// For ONBUILD: the text of the nested instruction.
    pub sub_line: Option<String>,
}

/// A parser-level error message (located by the caller).
#[derive(Debug)]
pub struct ArgError {
    pub code: &'static str,
    pub message: String,
}

type ParseResult = Result<Parsed, ArgError>;

/// Dispatches on the lower-cased keyword.
pub fn parse_args(keyword: &str, rest: &str, escape: char) -> ParseResult {
    match keyword {
        "add" | "copy" | "volume" => maybe_json_to_list(rest),
        "arg" => Ok(plain(parse_words(rest, escape))),
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(rest),
        "env" => name_val(rest, "ENV", escape),
        "label" => name_val(rest, "LABEL", escape),
        "expose" | "from" => Ok(plain(whitespace_delimited(rest))),
        "healthcheck" => health_config(rest),
        "maintainer" | "stopsignal" | "user" | "workdir" => Ok(plain(string(rest))),
        "onbuild" => Ok(Parsed {
            sub_line: (!rest.is_empty()).then(|| rest.to_string()),
            ..Parsed::default()
        }),
        // Unknown instructions keep one empty argument, as BuildKit's dump shows.
        _ => Ok(plain(vec![String::new()])),
    }
}

fn plain(args: Vec<String>) -> Parsed {
    Parsed {
        args,
        ..Parsed::default()
    }
}

fn string(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        Vec::new()
    } else {
        vec![rest.to_string()]
    }
}

fn whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    split_separators(rest, 0)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Words separated by whitespace; quotes and escapes are kept in the words.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
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
    let mut chars = rest.chars().peekable();
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
        // In quotes.
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

/// ENV and LABEL: `k=v …` or the legacy `k v`; key, value, separator triples.
fn name_val(rest: &str, key: &str, escape: char) -> ParseResult {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Parsed::default());
    };
    if !first.contains('=') {
        let parts = split_separators(rest, 2);
        if parts.len() < 2 {
            return Err(ArgError {
                code: super::codes::MISSING_VALUE,
                message: format!("{key} must have two arguments"),
            });
        }
        return Ok(plain(vec![
            parts[0].to_string(),
            parts[1].to_string(),
            String::new(),
        ]));
    }
    let mut args = Vec::with_capacity(words.len() * 3);
    for word in &words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(ArgError {
                code: super::codes::MISSING_EQUALS,
                message: format!(
                    "Syntax error - can't find = in {}. Must be of the form: name=value",
                    super::quote::go_quote(word)
                ),
            });
        };
        args.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(plain(args))
}

enum JsonError {
    NotStrings,
    Invalid,
}

fn parse_json(rest: &str) -> Result<Vec<String>, JsonError> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Err(JsonError::Invalid);
    }
    let values: Vec<serde_json::Value> =
        serde_json::from_str(rest).map_err(|_| JsonError::Invalid)?;
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(JsonError::NotStrings),
        })
        .collect()
}

fn not_strings() -> ArgError {
    ArgError {
        code: super::codes::JSON_NOT_STRINGS,
        message: "when using JSON array syntax, arrays must be comprised of strings only"
            .to_string(),
    }
}

/// JSON array, else the whole text as one argument.
fn maybe_json(rest: &str) -> ParseResult {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    match parse_json(rest) {
        Ok(args) => Ok(Parsed {
            args,
            json: true,
            sub_line: None,
        }),
        Err(JsonError::NotStrings) => Err(not_strings()),
        Err(JsonError::Invalid) => Ok(plain(vec![rest.to_string()])),
    }
}

/// JSON array, else whitespace-separated words.
fn maybe_json_to_list(rest: &str) -> ParseResult {
    match parse_json(rest) {
        Ok(args) => Ok(Parsed {
            args,
            json: true,
            sub_line: None,
        }),
        Err(JsonError::NotStrings) => Err(not_strings()),
        Err(JsonError::Invalid) => Ok(plain(whitespace_delimited(rest))),
    }
}

/// HEALTHCHECK: a type word (`CMD`, `NONE`), then a command like CMD's.
fn health_config(rest: &str) -> ParseResult {
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
    let lossy = |r: std::ops::Range<usize>| String::from_utf8_lossy(&bytes[r]).into_owned();
    let typ = lossy(0..sep);
    let mut cmd = maybe_json(&lossy(next..bytes.len()))?;
    cmd.args.insert(0, typ);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            parse_words(r#"a="b c" d\ e"#, '\\'),
            vec![r#"a="b c""#, r"d\ e"]
        );
    }

    #[test]
    fn env_forms() {
        let p = parse_args("env", "A=1 B=\"2 3\"", '\\').unwrap_or_default();
        assert_eq!(p.args, vec!["A", "1", "=", "B", "\"2 3\"", "="]);
        let p = parse_args("env", "A  1 2", '\\').unwrap_or_default();
        assert_eq!(p.args, vec!["A", "1 2", ""]);
        assert!(parse_args("env", "PATH", '\\').is_err());
    }

    #[test]
    fn json_fallback() {
        let p = parse_args("cmd", "[\"a\", 'b']", '\\').unwrap_or_default();
        assert!(!p.json);
        assert!(parse_args("cmd", "[\"a\", [\"b\"]]", '\\').is_err());
    }
}
