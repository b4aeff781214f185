//! Heredocs as BuildKit reads them (shared by export and import): which words open one, when a text
//! already carries closed heredocs, and a delimiter absent from a body.

/// A heredoc opener such as `<<EOF`, `<<-EOF`, `<<'EOF'` or `2<<EOF`, as
/// BuildKit finds it among the whitespace-separated words of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opener {
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
}

/// The heredoc openers among the words of one line.
pub fn openers(line: &str) -> Vec<Opener> {
    let mut words = line.split_whitespace();
    let mut out = Vec::new();
    while let Some(word) = words.next() {
        // `<<  EOF`: BuildKit reads the blanks after `<<` as part of the word.
        let found = if word.trim_start_matches(|c: char| c.is_ascii_digit()) == "<<" {
            words
                .next()
                .and_then(|name| opener(&format!("{word}{name}")))
        } else {
            opener(word)
        };
        out.extend(found);
    }
    out
}

fn opener(word: &str) -> Option<Opener> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let name = unquote(rest);
    (!name.is_empty()).then_some(Opener { name, chomp })
}

fn unquote(word: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in word.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => out.push(c),
        }
    }
    out
}

/// True when `text` is a first line with heredoc openers followed by their
/// bodies, each closed by its terminator, and nothing after the last one
/// (a final newline aside): a text BuildKit reads back exactly as written.
pub fn is_closed_heredoc_text(text: &str) -> bool {
    let mut lines = text.split('\n');
    let Some(first) = lines.next() else {
        return false;
    };
    let wanted = openers(first);
    if wanted.is_empty() {
        return false;
    }
    let mut pending = wanted.iter();
    let mut current = pending.next();
    let rest: Vec<&str> = lines.collect();
    let mut index = 0;
    while let Some(open) = current {
        let Some(line) = rest.get(index) else {
            return false;
        };
        let candidate = if open.chomp {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if candidate == open.name {
            current = pending.next();
        }
        index += 1;
    }
    let tail = &rest[index..];
    tail.is_empty() || (tail.len() == 1 && tail[0].is_empty())
}

/// The first line of a multi-line command that export writes as it is (a
/// closed heredoc text): BuildKit reads it as the rest of the RUN line,
/// trimmed and with flags taken off its front, so it must be a value that
/// survives that.
pub fn first_line_written_as_is(text: &str) -> Option<&str> {
    // A text laid out over continuation lines is written as it is too,
    // but read as the one line it joins to, which export checks whole.
    let as_is = text.contains('\n')
        && crate::config::continued::joined(text).is_none()
        && is_closed_heredoc_text(text);
    as_is.then(|| text.split('\n').next().unwrap_or(text))
}

/// `EOF`, or `EOF_1`, `EOF_2`… when the body already holds it.
pub fn delimiter_for(body: &str) -> String {
    let mut candidate = String::from("EOF");
    let mut n = 0;
    while body.contains(&candidate) {
        n += 1;
        candidate = format!("EOF_{n}");
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_openers_like_buildkit() {
        assert_eq!(openers("cat <<EOF > /x").len(), 1);
        assert_eq!(openers("<<-'END'")[0].name, "END");
        assert!(openers("<<-'END'")[0].chomp);
        assert!(openers("echo a<<b").is_empty());
        assert!(openers("echo <<").is_empty());
    }

    #[test]
    fn closed_heredoc_texts() {
        assert!(is_closed_heredoc_text("<<  EOF\nhello\nEOF\n"));
        assert!(is_closed_heredoc_text("cat <<EOF > /x\nhello\nEOF"));
        assert!(is_closed_heredoc_text("cat <<EOF > /x\nhello\nEOF\n"));
        assert!(!is_closed_heredoc_text("cat <<EOF > /x\nhello"));
        assert!(!is_closed_heredoc_text("cat <<EOF\nEOF\necho after"));
        assert!(!is_closed_heredoc_text("echo a\necho b"));
    }

    #[test]
    fn delimiters_avoid_the_body() {
        assert_eq!(delimiter_for("echo hi\n"), "EOF");
        assert_eq!(delimiter_for("cat <<EOF\nx\nEOF\n"), "EOF_1");
    }
}
