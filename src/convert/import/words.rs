//! Reading Dockerfile words the way BuildKit's shell lexer does, minus
//! variable expansion: quotes removed, escapes applied, `$VAR` kept. Also
//! `--flag[=value]` words and the csv fields of `--mount`.

/// The value a word stands for, variables left unexpanded. Whitespace is
/// kept (legacy `ENV key value with spaces` is one word here).
pub fn unquote(word: &str, escape: char) -> String {
    unquote_with(word, escape, "$")
}

/// A value as stages.toml spells it: like `unquote`, but a `$` the
/// Dockerfile protected from expansion (`'$HOME'`, `\$HOME`) becomes `\$`,
/// stages.toml's literal dollar, so that it is not expanded after export.
pub fn unquote_value(word: &str, escape: char) -> String {
    unquote_with(word, escape, "\\$")
}

fn unquote_with(word: &str, escape: char, literal_dollar: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    if c == '$' {
                        out.push_str(literal_dollar);
                    } else {
                        out.push(c);
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    if c == '"' {
                        break;
                    }
                    if c == escape {
                        match chars.peek() {
                            Some(&next) if next == '"' || next == escape => {
                                out.push(next);
                                chars.next();
                            }
                            Some('$') => {
                                out.push_str(literal_dollar);
                                chars.next();
                            }
                            _ => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
            c if c == escape => match chars.next() {
                Some('$') => out.push_str(literal_dollar),
                Some(next) => out.push(next),
                None => out.push(c),
            },
            c => out.push(c),
        }
    }
    out
}

/// A flag as written: `--name=value` or `--name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

pub fn flag(word: &str, escape: char) -> Option<Flag> {
    let body = word.strip_prefix("--")?;
    Some(match body.split_once('=') {
        Some((name, value)) => Flag {
            name: name.to_ascii_lowercase(),
            value: Some(unquote_value(value, escape)),
        },
        None => Flag {
            name: body.to_ascii_lowercase(),
            value: None,
        },
    })
}

/// A boolean flag's value: bare means true.
pub fn flag_bool(value: Option<&str>) -> Option<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") | Some("1") => Some(true),
        Some("false") | Some("0") => Some(false),
        _ => None,
    }
}

/// Csv fields, double quotes grouping and `""` standing for one quote.
pub fn csv_fields(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_like_the_lexer() {
        assert_eq!(unquote(r#""a b""#, '\\'), "a b");
        assert_eq!(unquote(r#"'a "b"'"#, '\\'), r#"a "b""#);
        assert_eq!(unquote(r#""say \"hi\"""#, '\\'), r#"say "hi""#);
        assert_eq!(unquote(r"a\ b", '\\'), "a b");
        assert_eq!(unquote("${A}/bin", '\\'), "${A}/bin");
        assert_eq!(unquote(r#""C:\dir""#, '`'), r"C:\dir");
        assert_eq!(unquote("hello world", '\\'), "hello world");
    }

    #[test]
    fn protected_dollars_stay_literal() {
        assert_eq!(unquote_value("'$HOME'/x", '\\'), r"\$HOME/x");
        assert_eq!(unquote_value(r"\$HOME", '\\'), r"\$HOME");
        assert_eq!(unquote_value(r#""\$HOME $USER""#, '\\'), r"\$HOME $USER");
        assert_eq!(unquote_value("$HOME", '\\'), "$HOME");
        assert_eq!(unquote_value("`$X", '`'), r"\$X");
    }

    #[test]
    fn flags_and_csv() {
        assert_eq!(
            flag("--from=build", '\\'),
            Some(Flag {
                name: "from".into(),
                value: Some("build".into())
            })
        );
        assert_eq!(flag("--link", '\\').and_then(|f| f.value), None);
        assert_eq!(
            csv_fields(r#"type=bind,"source=a,b",x"#),
            ["type=bind", "source=a,b", "x"]
        );
    }
}
