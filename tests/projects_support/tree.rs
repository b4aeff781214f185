//! An image's file tree as the container sees it: the layers of
//! `docker save`, applied in order with overlay whiteouts, each entry
//! reduced to what must be reproduced (kind, mode, owner, size, content
//! hash, link target). Modification times are not kept: Docker itself does
//! not reproduce them.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// sha256 of a regular file's contents.
    pub hash: Option<String>,
    /// A symlink's target, or the path a hard link names.
    pub link: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
    Other(u8),
}

pub type Tree = BTreeMap<String, Entry>;

/// One layer's tar, as a list of changes.
enum Change {
    Put(String, Entry),
    /// `.wh.NAME`: NAME and everything under it are gone.
    Remove(String),
    /// `.wh..wh..opq` in DIR: what lower layers had under DIR is gone.
    Opaque(String),
}

/// The file tree of `image` (a tag or id).
pub fn image_tree(image: &str) -> Tree {
    let mut child = Command::new("docker")
        .args(["save", image])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docker save");
    let stdout = child.stdout.take().expect("docker save stdout");
    let (layers, order) = read_saved(stdout);
    let out = child.wait_with_output().expect("wait for docker save");
    assert!(
        out.status.success(),
        "docker save {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let order = order.unwrap_or_else(|| panic!("docker save {image}: no manifest.json"));
    let mut tree = Tree::new();
    for layer in &order {
        let changes = layers
            .get(layer)
            .unwrap_or_else(|| panic!("docker save {image}: layer {layer} is missing"));
        apply(&mut tree, changes);
    }
    tree
}

/// The layers of a `docker save` stream by their path in it, and the
/// order the image's manifest gives them.
fn read_saved(stream: impl Read) -> (BTreeMap<String, Vec<Change>>, Option<Vec<String>>) {
    let mut archive = tar::Archive::new(stream);
    let mut layers = BTreeMap::new();
    let mut order = None;
    for entry in archive.entries().expect("docker save: tar") {
        let mut entry = entry.expect("docker save: tar entry");
        let path = entry
            .path()
            .expect("docker save: entry path")
            .to_string_lossy()
            .into_owned();
        if path == "manifest.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("read manifest.json");
            order = Some(layer_order(&text));
        } else if path.ends_with("/layer.tar") {
            layers.insert(path, read_layer(&mut entry));
        }
    }
    (layers, order)
}

fn layer_order(manifest: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(manifest).expect("manifest.json");
    value[0]["Layers"]
        .as_array()
        .expect("manifest.json: Layers")
        .iter()
        .map(|l| l.as_str().expect("a layer path").to_owned())
        .collect()
}

fn read_layer(stream: impl Read) -> Vec<Change> {
    let mut archive = tar::Archive::new(stream);
    let mut changes = Vec::new();
    for entry in archive.entries().expect("layer tar") {
        let mut entry = entry.expect("layer tar entry");
        let raw = entry
            .path()
            .expect("layer entry path")
            .to_string_lossy()
            .into_owned();
        let path = normalise(&raw);
        let (dir, base) = match path.rsplit_once('/') {
            Some((dir, base)) => (dir.to_owned(), base.to_owned()),
            None => (String::new(), path.clone()),
        };
        if base == ".wh..wh..opq" {
            changes.push(Change::Opaque(dir));
            continue;
        }
        if let Some(hidden) = base.strip_prefix(".wh.") {
            let gone = if dir.is_empty() {
                hidden.to_owned()
            } else {
                format!("{dir}/{hidden}")
            };
            changes.push(Change::Remove(gone));
            continue;
        }
        if path.is_empty() {
            continue;
        }
        let header = entry.header().clone();
        let kind = kind_of(header.entry_type());
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.to_string_lossy().into_owned());
        let link = match kind {
            Kind::HardLink => link.map(|l| normalise(&l)),
            _ => link,
        };
        let hash = (kind == Kind::File).then(|| {
            let mut hasher = Sha256::new();
            std::io::copy(&mut entry, &mut hasher).expect("read layer file");
            hex::encode(hasher.finalize())
        });
        changes.push(Change::Put(
            path,
            Entry {
                kind,
                mode: header.mode().expect("mode") & 0o7777,
                uid: header.uid().expect("uid"),
                gid: header.gid().expect("gid"),
                size: if kind == Kind::File {
                    header.size().expect("size")
                } else {
                    0
                },
                hash,
                link,
            },
        ));
    }
    changes
}

/// `./usr/bin/` → `usr/bin`.
fn normalise(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned()
}

fn kind_of(kind: tar::EntryType) -> Kind {
    match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Symlink => Kind::Symlink,
        tar::EntryType::Link => Kind::HardLink,
        tar::EntryType::Char => Kind::Char,
        tar::EntryType::Block => Kind::Block,
        tar::EntryType::Fifo => Kind::Fifo,
        other => Kind::Other(other.as_byte()),
    }
}

/// Applies one layer as overlayfs does: whiteouts hide what lower layers
/// had, and an entry that is not a directory hides a lower directory's
/// contents.
fn apply(tree: &mut Tree, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Opaque(dir) => remove_under(tree, dir),
            Change::Remove(path) => {
                tree.remove(path);
                remove_under(tree, path);
            }
            Change::Put(..) => {}
        }
    }
    for change in changes {
        if let Change::Put(path, entry) = change {
            if entry.kind != Kind::Dir {
                remove_under(tree, path);
            }
            tree.insert(path.clone(), entry.clone());
        }
    }
}

fn remove_under(tree: &mut Tree, dir: &str) {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let doomed: Vec<String> = tree
        .range(prefix.clone()..)
        .take_while(|(path, _)| path.starts_with(&prefix))
        .map(|(path, _)| path.clone())
        .collect();
    for path in doomed {
        tree.remove(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(hash: &str) -> Entry {
        Entry {
            kind: Kind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1,
            hash: Some(hash.to_owned()),
            link: None,
        }
    }

    fn dir() -> Entry {
        Entry {
            kind: Kind::Dir,
            mode: 0o755,
            ..file("")
        }
    }

    #[test]
    fn whiteouts_hide_lower_layers() {
        let mut tree = Tree::new();
        apply(
            &mut tree,
            &[
                Change::Put("a".into(), dir()),
                Change::Put("a/x".into(), file("1")),
                Change::Put("b".into(), dir()),
                Change::Put("b/y".into(), file("2")),
                Change::Put("c".into(), file("3")),
            ],
        );
        apply(
            &mut tree,
            &[
                Change::Opaque("a".into()),
                Change::Put("a/z".into(), file("4")),
                Change::Remove("b".into()),
                Change::Put("c".into(), file("5")),
            ],
        );
        let paths: Vec<&str> = tree.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a", "a/z", "c"]);
        assert_eq!(tree["c"].hash.as_deref(), Some("5"));
    }

    #[test]
    fn a_file_over_a_directory_hides_its_contents() {
        let mut tree = Tree::new();
        apply(
            &mut tree,
            &[
                Change::Put("d".into(), dir()),
                Change::Put("d/inner".into(), file("1")),
            ],
        );
        apply(&mut tree, &[Change::Put("d".into(), file("2"))]);
        assert_eq!(tree.keys().collect::<Vec<_>>(), ["d"]);
    }
}
