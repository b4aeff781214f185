//! Two file trees, entry by entry: what only one has, and what differs in
//! kind, mode, owner, size, contents or link target. The exclusions (files
//! Docker itself does not reproduce) are taken from `exclusions`.

use super::exclusions::{Forgiven, forgiven};
use super::tree::{Entry, Tree};

/// One line per difference, expected (the reference build) first.
pub fn tree_differences(project: &str, expected: &Tree, actual: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for (path, want) in expected {
        let excluded = forgiven(project, path);
        match actual.get(path) {
            None if excluded == Some(Forgiven::Presence) => {}
            None => out.push(format!(
                "file /{path}: only in docker build's image ({})",
                describe(want)
            )),
            Some(got) => {
                let what = entry_differences(want, got, excluded.is_some());
                if !what.is_empty() {
                    out.push(format!("file /{path}: {}", what.join(", ")));
                }
            }
        }
    }
    for (path, got) in actual {
        if !expected.contains_key(path) && forgiven(project, path) != Some(Forgiven::Presence) {
            out.push(format!(
                "file /{path}: only in this back end's image ({})",
                describe(got)
            ));
        }
    }
    out
}

fn entry_differences(want: &Entry, got: &Entry, content_forgiven: bool) -> Vec<String> {
    let mut what = Vec::new();
    if want.kind != got.kind {
        what.push(format!("kind {:?} vs {:?}", want.kind, got.kind));
    }
    if want.mode != got.mode {
        what.push(format!("mode {:o} vs {:o}", want.mode, got.mode));
    }
    if (want.uid, want.gid) != (got.uid, got.gid) {
        what.push(format!(
            "owner {}:{} vs {}:{}",
            want.uid, want.gid, got.uid, got.gid
        ));
    }
    if want.link != got.link {
        what.push(format!("link {:?} vs {:?}", want.link, got.link));
    }
    if !content_forgiven {
        if want.size != got.size {
            what.push(format!("size {} vs {}", want.size, got.size));
        }
        if want.hash != got.hash {
            what.push("contents differ".to_owned());
        }
    }
    what
}

fn describe(entry: &Entry) -> String {
    match &entry.link {
        Some(link) => format!("{:?} -> {link}", entry.kind),
        None => format!(
            "{:?}, mode {:o}, {} bytes",
            entry.kind, entry.mode, entry.size
        ),
    }
}
