//! Docker's variable substitution in build-time values (`FROM`, `COPY`,
//! `WORKDIR`, …): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}`,
//! and `\$` for a literal dollar. Unset variables become empty, as in Docker.

use super::nesting::MAX_EXPANSION_DEPTH;

/// Substitutes every variable in `text` using `lookup`. Past
/// [`MAX_EXPANSION_DEPTH`] nested `${…}`, which the loader refuses, the
/// rest is kept as written rather than expanded.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_at(text, lookup, 0)
}

fn expand_at(text: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['$', '\\']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(escaped) = tail.strip_prefix("\\$") {
            out.push('$');
            rest = escaped;
            continue;
        }
        if let Some(after_backslash) = tail.strip_prefix('\\') {
            out.push('\\');
            rest = after_backslash;
            continue;
        }
        let after = &tail[1..];
        if let Some(braced) = after.strip_prefix('{') {
            let Some(close) = matching_brace(braced) else {
                out.push_str(tail);
                return out;
            };
            let inner = &braced[..close];
            if depth >= MAX_EXPANSION_DEPTH {
                out.push_str(&tail[..close + 3]);
            } else {
                out.push_str(&braced_value(inner, lookup, depth + 1));
            }
            rest = &braced[close + 1..];
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 || after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(&lookup(&after[..len]).unwrap_or_default());
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The byte index of the `}` closing a `${` whose body starts `text`.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn braced_value(inner: &str, lookup: &dyn Fn(&str) -> Option<String>, depth: usize) -> String {
    let set = |name: &str| lookup(name).filter(|v| !v.is_empty());
    if let Some((name, default)) = inner.split_once(":-") {
        return set(name).unwrap_or_else(|| expand_at(default, lookup, depth));
    }
    if let Some((name, alternative)) = inner.split_once(":+") {
        return set(name).map_or_else(String::new, |_| expand_at(alternative, lookup, depth));
    }
    lookup(inner).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn env(name: &str) -> Option<String> {
        match name {
            "V" => Some("1.16".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn docker_forms() {
        assert_eq!(expand("golang:${V}", &env), "golang:1.16");
        assert_eq!(expand("a$V-b", &env), "a1.16-b");
        assert_eq!(expand("${NOPE:-x${V}}", &env), "x1.16");
        assert_eq!(expand("${EMPTY:-d}", &env), "d");
        assert_eq!(expand("${V:+set}${NOPE:+no}", &env), "set");
        assert_eq!(expand("\\$V $NOPE.", &env), "$V .");
        assert_eq!(expand("cost $ 5 ${unclosed", &env), "cost $ 5 ${unclosed");
        assert_eq!(expand("é$V€", &env), "é1.16€");
    }

    #[test]
    fn nesting_past_the_bound_is_kept_as_written() {
        let deep = format!("{}x{}", "${NOPE:-".repeat(5_000), "}".repeat(5_000));
        let expanded = expand(&deep, &env);
        assert!(
            expanded.starts_with("${NOPE:-${NOPE:-"),
            "{}",
            &expanded[..40]
        );
        let shallow = format!("{}x{}", "${NOPE:-".repeat(10), "}".repeat(10));
        assert_eq!(expand(&shallow, &env), "x");
    }
}
