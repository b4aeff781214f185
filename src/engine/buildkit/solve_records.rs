//! The solves of earlier builds, kept in the project's state directory
//! (`buildkit/solves.json`): for each solve key, the image it gave, the
//! listings BuildKit read of the context and their digest. Written only
//! after a build succeeded (its tags moved, its files placed), atomically,
//! and bounded to the most recent solves.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::unchanged::{ContextRead, FileStamp};

/// The file in the project's `buildkit` state directory.
const FILE: &str = "solves.json";
/// Solves kept: enough for every target of a project in a few variants of
/// build args, small enough to read on every build.
const KEPT: usize = 64;
/// Bumped when the record's meaning changes; other versions are ignored.
const FORMAT: u32 = 1;

/// One successful solve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolveRecord {
    /// `unchanged::SolveKeyInput::key`.
    pub key: String,
    /// The image the solve exported.
    pub image: String,
    /// The listings BuildKit asked for, in order.
    pub reads: Vec<ContextRead>,
    /// `unchanged::digest_context` of those listings after the solve.
    pub digest: String,
    pub files: Vec<FileStamp>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RecordFile {
    format: u32,
    /// Oldest first.
    solves: Vec<SolveRecord>,
}

/// The solve records of one project.
#[derive(Debug, Clone)]
pub struct SolveRecords {
    dir: PathBuf,
}

impl SolveRecords {
    /// Records kept in `dir` (created when the first is written).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    /// The record of `key`, if one was written; an unreadable file is as
    /// none (the next successful build writes it anew).
    pub fn find(&self, key: &str) -> Option<SolveRecord> {
        self.load().solves.into_iter().rev().find(|r| r.key == key)
    }

    fn load(&self) -> RecordFile {
        std::fs::read(self.dir.join(FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<RecordFile>(&bytes).ok())
            .filter(|file| file.format == FORMAT)
            .unwrap_or_default()
    }

    /// Adds `records`, each replacing an older one of the same key; keeps
    /// the newest [`KEPT`].
    pub fn add(&self, records: Vec<SolveRecord>) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut file = self.load();
        file.format = FORMAT;
        for record in records {
            file.solves.retain(|r| r.key != record.key);
            file.solves.push(record);
        }
        let excess = file.solves.len().saturating_sub(KEPT);
        file.solves.drain(..excess);
        std::fs::create_dir_all(&self.dir)?;
        let mut staged = tempfile::NamedTempFile::new_in(&self.dir)?;
        serde_json::to_writer(&mut staged, &file)?;
        staged.flush()?;
        staged.persist(self.dir.join(FILE)).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, image: &str) -> SolveRecord {
        SolveRecord {
            key: key.into(),
            image: image.into(),
            reads: vec![],
            digest: "sha256:d".into(),
            files: vec![],
        }
    }

    #[test]
    fn records_are_found_by_key_replaced_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let records = SolveRecords::in_dir(&dir.path().join("buildkit"));
        assert_eq!(records.find("k1"), None);
        records.add(vec![record("k1", "sha256:a")]).unwrap();
        assert_eq!(records.find("k1").unwrap().image, "sha256:a");
        records.add(vec![record("k1", "sha256:b")]).unwrap();
        assert_eq!(records.find("k1").unwrap().image, "sha256:b");
        let many: Vec<_> = (0..KEPT + 5)
            .map(|n| record(&format!("n{n}"), "sha256:x"))
            .collect();
        records.add(many).unwrap();
        assert_eq!(records.find("k1"), None, "the oldest went");
        assert!(records.find(&format!("n{}", KEPT + 4)).is_some());
        assert_eq!(records.load().solves.len(), KEPT);
    }

    #[test]
    fn an_unreadable_file_is_no_record_and_is_written_anew() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        let records = SolveRecords::in_dir(dir.path());
        assert_eq!(records.find("k"), None);
        records.add(vec![record("k", "sha256:a")]).unwrap();
        assert!(records.find("k").is_some());
    }
}
