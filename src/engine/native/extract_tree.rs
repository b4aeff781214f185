//! Where the entries of an archive that ADD extracts land, resolved as the
//! Engine's builder resolves them: inside the destination as if it were
//! the root, through the links the archive made before the entry.
//!
//! The classic builder extracts in a chroot at the destination, so a link
//! `l -> /etc` followed by `l/x` writes `DEST/etc/x` when `DEST/etc`
//! exists and fails when it does not, and `l -> ../../..` leads back to the
//! destination itself. The native back end uploads at `/`, where the Engine
//! would follow such a link out of the destination; so every entry is
//! resolved here, the upload names only real directories above each entry,
//! and an entry whose path goes through a link to nothing the archive made
//! is refused, as the classic builder refuses it. Paths are relative to the
//! destination (`""` is the destination).

use std::collections::{HashMap, VecDeque};

/// Links followed while resolving one path, as Linux allows.
const MAX_LINKS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File,
    Link(String),
}

/// What an entry makes at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made<'a> {
    Dir,
    File,
    Link(&'a str),
}

/// Why an entry's path cannot be resolved inside the destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolvable {
    #[error(
        "it goes through the link {link:?} -> {target:?}, which leads to nothing the archive made under the destination"
    )]
    Dangling { link: String, target: String },
    #[error("{0:?} is not a directory")]
    NotADirectory(String),
    #[error("it goes through more than {MAX_LINKS} links")]
    TooManyLinks,
}

/// The destination as the archive has built it so far.
#[derive(Debug, Default)]
pub struct ExtractTree {
    nodes: HashMap<String, Node>,
    /// Directories that entries need and no entry made, with the first
    /// entry needing each: they may already exist in the image.
    implied: Vec<(String, String)>,
}

impl ExtractTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record the entry at `path` (cleaned, relative) and return where it
    /// lands, relative to the destination.
    pub fn place(&mut self, path: &str, made: Made) -> Result<String, Unresolvable> {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = self.resolve_dir(parent, path)?;
        let landed = join(&parent, name);
        let node = match made {
            Made::Dir => Node::Dir,
            Made::File => Node::File,
            Made::Link(target) => Node::Link(target.to_owned()),
        };
        // Anything but a directory over a directory replaces what was
        // there, with what was under it.
        if self.nodes.get(&landed) != Some(&Node::Dir) || node != Node::Dir {
            let prefix = format!("{landed}/");
            self.nodes.retain(|key, _| !key.starts_with(&prefix));
        }
        self.nodes.insert(landed.clone(), node);
        Ok(landed)
    }

    /// Where the target of a hard link at `entry` lands (its last component
    /// is not followed).
    pub fn resolve_link_target(
        &mut self,
        target: &str,
        entry: &str,
    ) -> Result<String, Unresolvable> {
        let (parent, name) = target.rsplit_once('/').unwrap_or(("", target));
        let parent = self.resolve_dir(parent, entry)?;
        Ok(join(&parent, name))
    }

    /// Directories that entries need and no entry made (relative), each with
    /// the first entry that needs it, parents first.
    pub fn implied_dirs(&self) -> &[(String, String)] {
        &self.implied
    }

    /// The directory `path` names, following links; a missing directory
    /// named by the entry itself is made (as the Engine's extraction makes
    /// it), one a link names must exist.
    fn resolve_dir(&mut self, path: &str, entry: &str) -> Result<String, Unresolvable> {
        let mut pending: VecDeque<(String, Option<(String, String)>)> = path
            .split('/')
            .map(|part| (part.to_owned(), None))
            .collect();
        let mut current = String::new();
        let mut followed = 0;
        while let Some((part, via)) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    current = current
                        .rsplit_once('/')
                        .map_or(String::new(), |(up, _)| up.to_owned());
                    continue;
                }
                _ => {}
            }
            let next = join(&current, &part);
            match self.nodes.get(&next) {
                Some(Node::Dir) => current = next,
                Some(Node::File) => return Err(Unresolvable::NotADirectory(next)),
                Some(Node::Link(target)) => {
                    followed += 1;
                    if followed > MAX_LINKS {
                        return Err(Unresolvable::TooManyLinks);
                    }
                    if target.starts_with('/') {
                        current = String::new();
                    }
                    let origin = Some((next.clone(), target.clone()));
                    for piece in target.split('/').rev() {
                        pending.push_front((piece.to_owned(), origin.clone()));
                    }
                }
                None => {
                    if let Some((link, target)) = via {
                        return Err(Unresolvable::Dangling { link, target });
                    }
                    self.nodes.insert(next.clone(), Node::Dir);
                    self.implied.push((next.clone(), entry.to_owned()));
                    current = next;
                }
            }
        }
        Ok(current)
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place_all(entries: &[(&str, Made)]) -> Result<Vec<String>, (String, Unresolvable)> {
        let mut tree = ExtractTree::new();
        entries
            .iter()
            .map(|(path, made)| {
                tree.place(path, *made)
                    .map_err(|why| ((*path).to_owned(), why))
            })
            .collect()
    }

    #[test]
    fn an_absolute_link_to_nothing_the_archive_made_is_refused() {
        let refused = place_all(&[("l", Made::Link("/etc")), ("l/probe-evil", Made::File)]);
        assert_eq!(
            refused,
            Err((
                "l/probe-evil".to_owned(),
                Unresolvable::Dangling {
                    link: "l".to_owned(),
                    target: "/etc".to_owned()
                }
            ))
        );
        let refused = place_all(&[("d", Made::Link("/tmp")), ("d/sub/f", Made::File)]);
        assert!(
            matches!(refused, Err((entry, Unresolvable::Dangling { .. })) if entry == "d/sub/f")
        );
    }

    #[test]
    fn a_link_climbing_above_the_destination_stays_at_its_root() {
        let placed = place_all(&[("l2", Made::Link("../../..")), ("l2/tmp/x", Made::File)]);
        assert_eq!(placed, Ok(vec!["l2".to_owned(), "tmp/x".to_owned()]));
    }

    #[test]
    fn links_lead_to_what_the_archive_made_before() {
        let placed = place_all(&[
            ("etc", Made::Dir),
            ("v1/lib", Made::File),
            ("l", Made::Link("/etc")),
            ("l/x", Made::File),
            ("cur", Made::Link("v1")),
            ("cur/more", Made::File),
            ("deep", Made::Link("cur/../etc")),
            ("deep/y", Made::File),
        ])
        .unwrap();
        assert_eq!(placed[3], "etc/x");
        assert_eq!(placed[5], "v1/more");
        assert_eq!(placed[7], "etc/y");
    }

    #[test]
    fn a_replaced_directory_takes_its_contents_with_it() {
        let refused = place_all(&[
            ("a/f", Made::File),
            ("a", Made::Link("/gone")),
            ("a/g", Made::File),
        ]);
        assert!(matches!(refused, Err((_, Unresolvable::Dangling { .. }))));
        let refused = place_all(&[("f", Made::File), ("f/g", Made::File)]);
        assert_eq!(
            refused,
            Err((
                "f/g".to_owned(),
                Unresolvable::NotADirectory("f".to_owned())
            ))
        );
    }

    #[test]
    fn link_loops_end() {
        let refused = place_all(&[
            ("a", Made::Link("b")),
            ("b", Made::Link("a")),
            ("a/x", Made::File),
        ]);
        assert_eq!(refused, Err(("a/x".to_owned(), Unresolvable::TooManyLinks)));
    }

    #[test]
    fn directories_no_entry_made_are_reported_once() {
        let mut tree = ExtractTree::new();
        tree.place("a/b/f", Made::File).unwrap();
        tree.place("a/b/g", Made::File).unwrap();
        tree.place("c", Made::Dir).unwrap();
        assert_eq!(
            tree.implied_dirs(),
            [
                ("a".to_owned(), "a/b/f".to_owned()),
                ("a/b".to_owned(), "a/b/f".to_owned())
            ]
        );
        let target = tree.resolve_link_target("a/b/f", "h").unwrap();
        assert_eq!(target, "a/b/f");
    }
}
