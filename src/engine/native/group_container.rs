//! The container a group of copies writes into. Its uploads are gathered
//! into one tar and sent once, before the commit or before a read of what
//! they change; meanwhile the paths they write answer questions about the
//! container, so the Engine is asked only about the others. Each upload
//! and each question costs the Engine a mount of the container's file
//! system.

use std::collections::HashMap;

use super::build::NativeBuild;
use super::engine_api::{OpError, PathKind, StepEngine};
use crate::engine::planned_tar::PlannedTar;

pub struct GroupContainer<'a, E: StepEngine> {
    build: &'a NativeBuild<E>,
    id: String,
    /// Entries not sent yet.
    pending: PlannedTar,
    /// What the pending entries (and those sent) write, by path.
    written: HashMap<String, PathKind>,
    /// The Engine's answers so far.
    asked: HashMap<String, Option<PathKind>>,
}

impl<'a, E: StepEngine> GroupContainer<'a, E> {
    pub fn new(build: &'a NativeBuild<E>, id: String) -> Self {
        Self {
            build,
            id,
            pending: PlannedTar::default(),
            written: HashMap::new(),
            asked: HashMap::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// What `path` is, counting what is still to be sent.
    pub async fn path_kind(&mut self, path: &str) -> Result<Option<PathKind>, OpError> {
        let path = normal(path);
        if let Some(kind) = self.written.get(&path) {
            return Ok(Some(*kind));
        }
        if self.shadowed(&path) {
            // A file or link written over a directory above it: let the
            // Engine say what remains.
            self.flush().await?;
            self.asked.clear();
        }
        if let Some(kind) = self.asked.get(&path) {
            return Ok(*kind);
        }
        let kind = self.build.engine.path_kind(&self.id, &path).await?;
        self.asked.insert(path, kind);
        Ok(kind)
    }

    /// Ask the Engine about `paths` at once, ahead of the copies that will
    /// ask one at a time. Only the paths nothing has written yet and no
    /// one asked about are sent; a failed question is left to be asked
    /// again, and fail, when a copy needs it.
    pub async fn ask_ahead(&mut self, paths: &[String]) {
        let mut unknown: Vec<String> = paths
            .iter()
            .map(|path| normal(path))
            .filter(|path| !self.written.contains_key(path) && !self.asked.contains_key(path))
            .collect();
        unknown.sort();
        unknown.dedup();
        let (build, id) = (self.build, &self.id);
        let answers = futures_util::future::join_all(unknown.into_iter().map(|path| async move {
            let kind = build.engine.path_kind(id, &path).await;
            (path, kind)
        }))
        .await;
        for (path, kind) in answers {
            if let Ok(kind) = kind {
                self.asked.insert(path, kind);
            }
        }
    }

    /// A tar of `path` in the container, after sending what touches it.
    pub async fn download(&mut self, path: &str) -> Result<Vec<u8>, OpError> {
        let path = normal(path);
        if self
            .written
            .keys()
            .any(|w| within(w, &path) || within(&path, w))
        {
            self.flush().await?;
        }
        self.build.engine.download(&self.id, &path).await
    }

    /// Gather a planned tar to send with the others.
    pub fn add(&mut self, tar: PlannedTar) {
        for (path, entry_type) in tar.listing() {
            let kind = match entry_type {
                tar::EntryType::Directory => PathKind::Dir,
                tar::EntryType::Symlink => PathKind::Symlink,
                _ => PathKind::File,
            };
            self.written.insert(normal(&path), kind);
        }
        self.pending.extend(tar);
    }

    /// Send what was gathered, in one upload.
    pub async fn flush(&mut self) -> Result<(), OpError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let tar = std::mem::take(&mut self.pending);
        self.build.engine.upload(&self.id, tar).await
    }

    /// A directory above `path` was written as something else.
    fn shadowed(&self, path: &str) -> bool {
        let mut current = path;
        while let Some((parent, _)) = current.rsplit_once('/') {
            let parent = if parent.is_empty() { "/" } else { parent };
            if let Some(kind) = self.written.get(parent)
                && *kind != PathKind::Dir
            {
                return true;
            }
            if parent == "/" {
                break;
            }
            current = parent;
        }
        false
    }
}

/// An absolute path without a trailing `/` (`/` itself stays).
fn normal(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("/{trimmed}")
}

/// `path` is `dir` or lies under it.
pub fn within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::{normal, within};

    #[test]
    fn paths_compare_as_directories() {
        assert_eq!(normal("in/a/"), "/in/a");
        assert_eq!(normal("/"), "/");
        assert_eq!(normal("//in"), "/in");
        assert!(within("/in/a/b", "/in/a"));
        assert!(within("/in/a", "/in/a"));
        assert!(!within("/in/ab", "/in/a"));
        assert!(within("/x", "/"));
    }
}
