//! Docker's variable substitution in build-time values (`FROM`, `COPY`,
//! `WORKDIR`, …): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alternative}`,
//! and `\$` for a literal dollar. Unset variables become empty, as in Docker.

/// Substitutes every variable in `text` using `lookup`.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
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
            out.push_str(&braced_value(inner, lookup));
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

fn braced_value(inner: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let set = |name: &str| lookup(name).filter(|v| !v.is_empty());
    if let Some((name, default)) = inner.split_once(":-") {
        return set(name).unwrap_or_else(|| expand(default, lookup));
    }
    if let Some((name, alternative)) = inner.split_once(":+") {
        return set(name).map_or_else(String::new, |_| expand(alternative, lookup));
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
}
