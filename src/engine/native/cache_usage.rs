//! When each entry of a project's step cache was last used, for the
//! least-recently-used bound. An image's labels cannot change after its
//! commit, and re-tagging every hit would cost a warm rebuild one Engine
//! call per step, so the times live in the project's state directory:
//! `cache-used`,
//! one `<unix seconds> <cache key>` line per entry. Builds of one project
//! update it in turn (under `cache-used.lock`), and the file is
//! replaced atomically. An entry without a line counts as used when it was
//! created.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::engine::build_lock::lock_exclusive;
use crate::engine::project_state::ProjectState;

const FILE: &str = "cache-used";
const LOCK: &str = "cache-used.lock";

/// Cache key → unix seconds of its last use.
pub type LastUse = BTreeMap<String, i64>;

/// The recorded times; none when the file is missing. Lines that do not
/// read are skipped: the file is a hint, never a reason to fail a build.
pub fn read(state: &ProjectState) -> LastUse {
    std::fs::read_to_string(state.dir().join(FILE))
        .map(|text| parse(&text))
        .unwrap_or_default()
}

fn parse(text: &str) -> LastUse {
    text.lines()
        .filter_map(|line| {
            let (time, key) = line.split_once(' ')?;
            let time = time.parse::<i64>().ok()?;
            let key = key.trim();
            key.starts_with("sha256:").then(|| (key.to_owned(), time))
        })
        .collect()
}

/// Records `used` as used at `now`; when `existing` is given, forgets the
/// keys that are no longer in the cache. Returns the times after the
/// update.
pub fn record(
    state: &ProjectState,
    used: &BTreeSet<String>,
    now: i64,
    existing: Option<&BTreeSet<String>>,
) -> io::Result<LastUse> {
    let dir = state.ensure("")?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))?;
    lock_exclusive(&lock)?;
    let mut times = read(state);
    for key in used {
        let time = times.entry(key.clone()).or_insert(now);
        *time = (*time).max(now);
    }
    if let Some(existing) = existing {
        times.retain(|key, _| existing.contains(key));
    }
    write_atomically(&dir, &times)?;
    Ok(times)
}

fn write_atomically(dir: &Path, times: &LastUse) -> io::Result<()> {
    let mut staged = tempfile::Builder::new()
        .prefix(".cache-used-")
        .tempfile_in(dir)?;
    for (key, time) in times {
        writeln!(staged, "{time} {key}")?;
    }
    staged.as_file().sync_all()?;
    staged.persist(dir.join(FILE)).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| format!("sha256:{n}")).collect()
    }

    #[test]
    fn uses_are_recorded_merged_and_forgotten_with_their_entries() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        assert!(read(&state).is_empty());
        record(&state, &keys(&["a", "b"]), 100, None).unwrap();
        // An older time never replaces a newer one.
        record(&state, &keys(&["a"]), 50, None).unwrap();
        let times = record(&state, &keys(&["b"]), 200, None).unwrap();
        assert_eq!(times["sha256:a"], 100);
        assert_eq!(times["sha256:b"], 200);
        assert_eq!(read(&state), times);
        let times = record(&state, &keys(&[]), 300, Some(&keys(&["b"]))).unwrap();
        assert_eq!(times.keys().collect::<Vec<_>>(), ["sha256:b"]);
    }

    #[test]
    fn a_damaged_file_is_read_as_far_as_it_goes() {
        let times = parse("12 sha256:a\ngarbage\n-3 sha256:b\n7 notakey\n\n");
        assert_eq!(times.len(), 2);
        assert_eq!(times["sha256:b"], -3);
    }
}
