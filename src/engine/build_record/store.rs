//! Where build records live: `records/last.json` and
//! `records/previous.json` in the project's state directory (outside the
//! build context, see `project_state`). A new record is written to a
//! temporary file and renamed over `last.json` after the old one moved to
//! `previous.json`, so a reader never sees half a record; only these two
//! are kept.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::record::{BuildRecord, RECORD_VERSION};
use crate::engine::project_state::ProjectState;

const DIR: &str = "records";
const LAST: &str = "last.json";
const PREVIOUS: &str = "previous.json";
/// A record larger than this drops its file lists (each step keeps its
/// digest, so a change is still told, without naming the file).
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// The last build's record and the one before, as found on disk.
#[derive(Debug, Default)]
pub struct StoredRecords {
    pub last: Option<BuildRecord>,
    pub previous: Option<BuildRecord>,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a build record of this version of stages: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

/// The records directory of `state` (which may not exist).
pub fn records_dir(state: &ProjectState) -> PathBuf {
    state.dir().join(DIR)
}

/// Both records; a missing file is `None`, an unreadable one an error.
pub fn load(state: &ProjectState) -> Result<StoredRecords, RecordError> {
    let dir = records_dir(state);
    Ok(StoredRecords {
        last: read(&dir.join(LAST))?,
        previous: read(&dir.join(PREVIOUS))?,
    })
}

/// The last build's record, for a build to compare with; a damaged or
/// older record counts as none (the build then explains "first build").
pub fn load_last_lenient(state: &ProjectState) -> Option<BuildRecord> {
    read(&records_dir(state).join(LAST)).ok().flatten()
}

fn read(path: &Path) -> Result<Option<BuildRecord>, RecordError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RecordError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let record: BuildRecord =
        serde_json::from_str(&text).map_err(|error| RecordError::Unreadable {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if record.version != RECORD_VERSION {
        return Err(RecordError::Unreadable {
            path: path.to_owned(),
            reason: format!(
                "version {} (this one reads {RECORD_VERSION})",
                record.version
            ),
        });
    }
    Ok(Some(record))
}

/// Make `record` the last one, the last one the previous one.
pub fn save(state: &ProjectState, record: &BuildRecord) -> io::Result<()> {
    let dir = state.ensure(DIR)?;
    let text = serialise_bounded(record)?;
    let mut staged = tempfile::NamedTempFile::new_in(&dir)?;
    staged.write_all(text.as_bytes())?;
    staged.as_file().sync_all()?;
    let last = dir.join(LAST);
    match std::fs::rename(&last, dir.join(PREVIOUS)) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    staged.persist(&last).map_err(|e| e.error)?;
    Ok(())
}

/// The record as JSON within `MAX_RECORD_BYTES`: file lists go first.
fn serialise_bounded(record: &BuildRecord) -> io::Result<String> {
    let text = serde_json::to_string(record).map_err(io::Error::other)?;
    if text.len() <= MAX_RECORD_BYTES {
        return Ok(text);
    }
    let mut smaller = record.clone();
    for stage in smaller.stages.values_mut() {
        for step in &mut stage.steps {
            step.files.clear();
        }
    }
    serde_json::to_string(&smaller).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::build_record::record::{
        FileRecord, MAX_FILES_PER_STEP, StageRecord, StepRecord,
    };

    fn record(backend: &str) -> BuildRecord {
        BuildRecord {
            version: RECORD_VERSION,
            backend: backend.to_owned(),
            ..BuildRecord::default()
        }
    }

    #[test]
    fn saving_keeps_the_last_record_and_the_one_before() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        assert!(load(&state).unwrap().last.is_none());
        save(&state, &record("one")).unwrap();
        save(&state, &record("two")).unwrap();
        save(&state, &record("three")).unwrap();
        let stored = load(&state).unwrap();
        assert_eq!(stored.last.unwrap().backend, "three");
        assert_eq!(stored.previous.unwrap().backend, "two");
        let names: Vec<_> = std::fs::read_dir(records_dir(&state))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
    }

    #[test]
    fn a_damaged_record_is_an_error_for_why_and_none_for_a_build() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        let dir = state.ensure(DIR).unwrap();
        std::fs::write(dir.join(LAST), "{ not json").unwrap();
        assert!(matches!(load(&state), Err(RecordError::Unreadable { .. })));
        assert!(load_last_lenient(&state).is_none());
        let mut old = record("x");
        old.version = RECORD_VERSION + 1;
        std::fs::write(dir.join(LAST), serde_json::to_string(&old).unwrap()).unwrap();
        assert!(load(&state).is_err());
    }

    #[test]
    fn a_huge_record_drops_its_file_lists_but_keeps_their_digests() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        let mut big = record("native");
        let mut step = StepRecord {
            context_digest: Some("abc".into()),
            ..StepRecord::default()
        };
        // More than the bound even when each step lists only its share.
        let long = "x".repeat(2 * MAX_RECORD_BYTES / MAX_FILES_PER_STEP);
        step.set_files(
            (0..MAX_FILES_PER_STEP)
                .map(|n| FileRecord {
                    path: format!("{long}/{n}"),
                    digest: "d".into(),
                })
                .collect(),
        );
        big.stages.insert(
            "s".into(),
            StageRecord {
                steps: vec![step],
                ..StageRecord::default()
            },
        );
        save(&state, &big).unwrap();
        let size = std::fs::metadata(records_dir(&state).join(LAST))
            .unwrap()
            .len();
        assert!(size as usize <= MAX_RECORD_BYTES, "{size}");
        let read = load(&state).unwrap().last.unwrap();
        let step = &read.stages["s"].steps[0];
        assert!(step.files.is_empty() && step.file_count > 0);
        assert!(!step.lists_every_file());
        assert_eq!(step.context_digest.as_deref(), Some("abc"));
    }
}
