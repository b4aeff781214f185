//! TOML spellings of single keys and values, through `toml_edit` so that
//! quoting and escaping follow the TOML spec; multi-line strings come out
//! as `"""` strings.

use crate::config::forms::CommandForm;

/// A bare key when TOML allows one, else a quoted key.
pub fn key(name: &str) -> String {
    toml_edit::Key::new(name).display_repr().into_owned()
}

/// A string value; one with newlines becomes a `"""` string.
pub fn string(text: &str) -> String {
    toml_edit::Value::from(text).to_string().trim().to_owned()
}

pub fn strings<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<String> = items.iter().map(|s| string(s.as_ref())).collect();
    format!("[{}]", parts.join(", "))
}

pub fn command(command: &CommandForm) -> String {
    match command {
        CommandForm::Shell(text) => string(text),
        CommandForm::Exec(words) => strings(words),
    }
}

/// `{ a = 1, b = "x" }` from already encoded pairs; `{}` when empty.
pub fn inline(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "{}".to_owned();
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {v}", key(k)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

/// A map of string values, as an inline table.
pub fn string_map<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.as_ref().to_owned(), string(v.as_ref())))
        .collect();
    inline(&encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_strings_follow_toml() {
        assert_eq!(key("CGO_ENABLED"), "CGO_ENABLED");
        assert_eq!(
            key("org.opencontainers.title"),
            "\"org.opencontainers.title\""
        );
        assert_eq!(string("a \"b\""), "'a \"b\"'");
        assert_eq!(string("line 1\nline 2\n"), "\"\"\"\nline 1\nline 2\n\"\"\"");
    }
}
