//! Where each `key = value` entry of a TOML text sits, so the loader can
//! blank out an entry it has reported and read on to the next problem.
//! Uses `toml_edit`, whose parsed documents keep spans for keys and values.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// One `key = value` entry: its byte range, whether it sits in an inline
/// table, and the keys leading to it (`["targets", "app", "tags"]`; array
/// elements add nothing, so a step's `copy` is `["stages", "a", "steps", "copy"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub range: Range<usize>,
    pub inline: bool,
    pub path: Vec<String>,
}

/// Every entry of `text`, or nothing when it is not valid TOML.
pub fn entries(text: &str) -> Vec<Entry> {
    let Ok(document) = Document::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    table(document.as_table(), &[], &mut out);
    out
}

fn table(table: &Table, path: &[String], out: &mut Vec<Entry>) {
    for (name, _) in table.iter() {
        if let Some((key, item)) = table.get_key_value(name) {
            let path = extend(path, name);
            entry(key.span(), item, false, &path, out);
        }
    }
}

fn extend(path: &[String], name: &str) -> Vec<String> {
    let mut path = path.to_vec();
    path.push(name.to_owned());
    path
}

fn entry(
    key: Option<Range<usize>>,
    item: &Item,
    inline: bool,
    path: &[String],
    out: &mut Vec<Entry>,
) {
    match item {
        Item::Value(value) => {
            if let (Some(key), Some(value_span)) = (key, value.span()) {
                out.push(Entry {
                    range: key.start..value_span.end.max(key.end),
                    inline,
                    path: path.to_vec(),
                });
            }
            self::value(value, path, out);
        }
        Item::Table(inner) => table(inner, path, out),
        Item::ArrayOfTables(array) => array.iter().for_each(|t| table(t, path, out)),
        Item::None => {}
    }
}

fn value(value: &Value, path: &[String], out: &mut Vec<Entry>) {
    match value {
        Value::InlineTable(inline) => {
            for (name, _) in inline.iter() {
                if let Some((key, item)) = inline.get_key_value(name) {
                    entry(key.span(), item, true, &extend(path, name), out);
                }
            }
        }
        Value::Array(array) => array.iter().for_each(|v| self::value(v, path, out)),
        _ => {}
    }
}

/// The innermost entry containing `offset`.
pub fn entry_at(entries: &[Entry], offset: usize) -> Option<&Entry> {
    entries
        .iter()
        .filter(|e| e.range.start <= offset && offset < e.range.end.max(e.range.start + 1))
        .min_by_key(|e| e.range.len())
}

/// `text` with `entry` replaced by spaces (newlines kept, so every other
/// offset stays put); in an inline table, a comma right after goes too.
pub fn blank(text: &str, entry: &Entry) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut end = entry.range.end.min(bytes.len());
    if entry.inline {
        let mut i = end;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        if bytes.get(i) == Some(&b',') {
            end = i + 1;
        }
    }
    for byte in &mut bytes[entry.range.start.min(end)..end] {
        if *byte != b'\n' && *byte != b'\r' {
            *byte = b' ';
        }
    }
    // Only ASCII and whole entries were replaced, so the text stays UTF-8;
    // should it not, the original is returned and the loader stops there.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_the_innermost_entry() {
        let text = "[stages.a]\nfrm = 1\nsteps = [{ mont = [], run = \"x\" }]\n";
        let all = entries(text);
        let mont = text.find("mont").expect("mont");
        let found = entry_at(&all, mont).expect("an entry");
        let blanked = blank(text, found);
        assert_eq!(blanked.len(), text.len());
        assert!(toml::from_str::<toml::Table>(&blanked).is_ok(), "{blanked}");
        assert!(!blanked.contains("mont"));
        assert!(blanked.contains("run = \"x\""));
        let frm = text.find("frm").expect("frm");
        assert_eq!(entry_at(&all, frm).map(|e| e.inline), Some(false));
        let path = entry_at(&all, mont).map(|e| e.path.join("."));
        assert_eq!(path.as_deref(), Some("stages.a.steps.mont"));
    }
}
