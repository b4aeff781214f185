//! Which builds of a project are alive. A build holds an exclusive `flock`
//! on `builds/<build id>.lock` in the project's state directory
//! (`project_state`) from before it creates anything on
//! the Engine until it has removed what it created. The kernel drops the
//! lock when the process dies, however it dies (SIGKILL included), so a
//! lock file that can be locked belongs to a dead build, and one that
//! cannot to a running one, on this host. The file also says who wrote it
//! (pid, host, start time), for a person looking.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::project_state::ProjectState;

const BUILDS_DIR: &str = "builds";
const SUFFIX: &str = ".lock";

/// The lock a running build holds.
#[derive(Debug)]
pub struct BuildLock {
    path: PathBuf,
    _file: File,
}

impl BuildLock {
    /// Takes the lock of `build_id`. The file is locked before it gets its
    /// name, so no other build ever sees it unlocked.
    pub fn acquire(state: &ProjectState, build_id: &str) -> io::Result<Self> {
        let dir = state.ensure(BUILDS_DIR)?;
        let mut staged = tempfile::Builder::new().prefix(".new-").tempfile_in(&dir)?;
        if !try_lock(staged.as_file())? {
            return Err(io::Error::other("a new lock file is locked already"));
        }
        writeln!(staged, "{}", owner_line())?;
        let path = dir.join(format!("{build_id}{SUFFIX}"));
        let file = staged.persist(&path).map_err(|e| e.error)?;
        Ok(Self { path, _file: file })
    }

    /// The build is over and has cleaned up: the file goes, then the lock.
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Another build of the project, as its lock file tells.
#[derive(Debug)]
pub enum OtherBuild {
    Alive(String),
    /// Its process is gone; the lock is held here until `forget`.
    Dead(DeadBuild),
}

/// A build whose process died; its lock is held while its leftovers go.
#[derive(Debug)]
pub struct DeadBuild {
    id: String,
    path: PathBuf,
    _file: File,
}

impl DeadBuild {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its leftovers are gone: so is its lock file.
    pub fn forget(self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// Every build of the project with a lock file, except `own_id`.
pub fn other_builds(state: &ProjectState, own_id: &str) -> io::Result<Vec<OtherBuild>> {
    let dir = state.dir().join(BUILDS_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut builds = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if id == own_id || !is_build_id(id) {
            continue;
        }
        if let Some(build) = inspect(&entry.path(), id)? {
            builds.push(build);
        }
    }
    builds.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    Ok(builds)
}

fn name_of(build: &OtherBuild) -> &str {
    match build {
        OtherBuild::Alive(id) => id,
        OtherBuild::Dead(dead) => &dead.id,
    }
}

fn inspect(path: &Path, id: &str) -> io::Result<Option<OtherBuild>> {
    let file = match File::options().read(true).write(true).open(path) {
        Ok(file) => file,
        // Its build finished while we looked.
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(Some(if try_lock(&file)? {
        OtherBuild::Dead(DeadBuild {
            id: id.to_owned(),
            path: path.to_owned(),
            _file: file,
        })
    } else {
        OtherBuild::Alive(id.to_owned())
    }))
}

/// Build ids are `<pid>-<hex>` (`Janitor::new`): nothing else is a lock.
pub fn is_build_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-')
}

fn owner_line() -> String {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "pid={} host={} started={started}",
        std::process::id(),
        host_name()
    )
}

#[cfg(unix)]
fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return "unknown".to_owned();
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".to_owned())
}

/// `Ok(true)` when the exclusive lock was taken, `Ok(false)` when another
/// open file holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call.
    let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if status == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Waits for the exclusive lock of `file` (held until the file closes).
#[cfg(unix)]
pub fn lock_exclusive(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: the descriptor is open for the duration of the call.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if status == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(not(unix))]
pub fn lock_exclusive(_: &File) -> io::Result<()> {
    Ok(())
}

/// Without `flock` no build can be shown dead: every other build counts
/// as alive, and nothing of theirs is removed.
#[cfg(not(unix))]
fn try_lock(_: &File) -> io::Result<bool> {
    Ok(false)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_alive_and_a_released_one_is_gone() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        let mine = BuildLock::acquire(&state, "10-aa").unwrap();
        let other = BuildLock::acquire(&state, "11-bb").unwrap();
        let seen = other_builds(&state, "10-aa").unwrap();
        assert!(matches!(&seen[..], [OtherBuild::Alive(id)] if id == "11-bb"));
        other.release();
        assert!(other_builds(&state, "10-aa").unwrap().is_empty());
        let text = std::fs::read_to_string(state.dir().join("builds/10-aa.lock")).unwrap();
        assert!(text.starts_with(&format!("pid={} host=", std::process::id())));
        mine.release();
        assert!(other_builds(&state, "x").unwrap().is_empty());
    }

    #[test]
    fn a_lock_nobody_holds_is_a_dead_build() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        let dir = state.ensure(BUILDS_DIR).unwrap();
        // What a killed build leaves: the file, without its process.
        std::fs::write(dir.join("12-cc.lock"), "pid=12\n").unwrap();
        std::fs::write(dir.join("not a build.lock"), "").unwrap();
        let seen = other_builds(&state, "10-aa").unwrap();
        let [OtherBuild::Dead(dead)] = <[OtherBuild; 1]>::try_from(seen).unwrap() else {
            panic!("expected one dead build");
        };
        assert_eq!(dead.id(), "12-cc");
        // While one sweeper holds it, another sees it as taken.
        assert!(matches!(
            &other_builds(&state, "10-aa").unwrap()[..],
            [OtherBuild::Alive(_)]
        ));
        dead.forget().unwrap();
        assert!(!dir.join("12-cc.lock").exists());
    }

    #[test]
    fn build_ids_are_checked_before_they_name_files() {
        assert!(is_build_id("4242-18c3f0a9b"));
        assert!(!is_build_id("../x"));
        assert!(!is_build_id(""));
        assert!(!is_build_id("a b"));
    }
}
