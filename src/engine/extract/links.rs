//! Where a symlink leads once the extracted entries are in place. A target
//! is followed component by component through the links it meets (links
//! to links, `.` links stacked before `..`, links whose own target is
//! absolute), as the kernel would; a name that does not exist yet counts
//! as a plain directory, so a later entry can only make the path exist,
//! and the final pass (`check_all`) sees what it became.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::ExtractError;

/// How many links one path may pass through, as Linux's `ELOOP` limit.
const MAX_HOPS: usize = 40;

/// The longest symlink target the system follows (`PATH_MAX` less the
/// terminating NUL); a longer one could only make the walk slow.
const MAX_TARGET_BYTES: usize = 4095;

/// The output directory as it will be: a top-level name held by the
/// staging directory is read there (it replaces the output's entry of that
/// name), any other in the output directory.
pub(super) struct View<'a> {
    pub staging: Option<&'a Path>,
    pub output: &'a Path,
}

impl View<'_> {
    fn locate(&self, relative: &Path) -> PathBuf {
        if let (Some(staging), Some(Component::Normal(first))) =
            (self.staging, relative.components().next())
            && fs::symlink_metadata(staging.join(first)).is_ok()
        {
            return staging.join(relative);
        }
        self.output.join(relative)
    }

    /// The target of the link at `relative`, or `None` when it is no link
    /// (a file, a directory, or nothing yet).
    fn link_at(&self, relative: &Path) -> Option<PathBuf> {
        let place = self.locate(relative);
        let meta = fs::symlink_metadata(&place).ok()?;
        if meta.file_type().is_symlink() {
            fs::read_link(&place).ok()
        } else {
            None
        }
    }
}

/// Checks that the link at `at` (relative to the output directory), with
/// target `link`, leads to a place inside the output directory.
pub(super) fn check_link(view: &View<'_>, at: &Path, link: &Path) -> Result<(), &'static str> {
    if link.is_absolute() {
        return Err("its symlink target is an absolute path outside the output directory");
    }
    if link.as_os_str().len() > MAX_TARGET_BYTES {
        return Err("its symlink target is longer than the system follows");
    }
    match follow(view, at, link) {
        Followed::Inside => Ok(()),
        Followed::Outside => Err("its symlink target leads outside the output directory"),
        Followed::Loop => Err("its symlink target is a loop of links"),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Followed {
    Inside,
    Outside,
    Loop,
}

/// One component of a path still to walk.
enum Step {
    Up,
    Root,
    Name(OsString),
}

fn steps(path: &Path) -> impl Iterator<Item = Step> + '_ {
    path.components().filter_map(|c| match c {
        Component::CurDir => None,
        Component::ParentDir => Some(Step::Up),
        Component::RootDir | Component::Prefix(_) => Some(Step::Root),
        Component::Normal(part) => Some(Step::Name(part.to_owned())),
    })
}

/// Walks `link` from the directory holding `at`, splicing in the target of
/// every link met; `current` is always a real (or future) directory path.
fn follow(view: &View<'_>, at: &Path, link: &Path) -> Followed {
    let mut current: Vec<OsString> = Vec::new();
    for step in at.parent().map(steps).into_iter().flatten() {
        match step {
            Step::Name(part) => current.push(part),
            Step::Up | Step::Root => return Followed::Outside,
        }
    }
    let mut pending: VecDeque<Step> = steps(link).collect();
    let mut hops = 0;
    while let Some(step) = pending.pop_front() {
        match step {
            Step::Root => return Followed::Outside,
            Step::Up => {
                if current.pop().is_none() {
                    return Followed::Outside;
                }
            }
            Step::Name(part) => {
                let here: PathBuf = current.iter().chain([&part]).collect();
                match view.link_at(&here) {
                    Some(target) => {
                        hops += 1;
                        if hops > MAX_HOPS {
                            return Followed::Loop;
                        }
                        for step in steps(&target).collect::<Vec<_>>().into_iter().rev() {
                            pending.push_front(step);
                        }
                    }
                    None => current.push(part),
                }
            }
        }
    }
    Followed::Inside
}

/// Every link the staging directory holds, and every link already in the
/// output directory that the staged entries would re-aim, checked against
/// the tree as it will be after the renames.
pub(super) fn check_all(view: &View<'_>) -> Result<(), ExtractError> {
    let Some(staging) = view.staging else {
        return Ok(());
    };
    for (relative, target) in links_under(staging, |_| true) {
        check_link(view, &relative, &target).map_err(|reason| ExtractError::Refused {
            entry: relative.display().to_string(),
            reason,
        })?;
    }
    let before = View {
        staging: None,
        output: view.output,
    };
    // The staging directory itself, when made inside the output directory.
    let own = (staging.parent() == Some(view.output)).then(|| staging.file_name());
    let staged = |name: &std::ffi::OsStr| {
        own != Some(Some(name)) && fs::symlink_metadata(staging.join(name)).is_err()
    };
    for (relative, target) in links_under(view.output, staged) {
        if target.is_absolute() {
            // Never written by an export: the user's own, whose meaning no
            // entry of the output directory changes.
            continue;
        }
        let was_inside = follow(&before, &relative, &target) == Followed::Inside;
        if was_inside && follow(view, &relative, &target) != Followed::Inside {
            return Err(ExtractError::Redirected {
                link: relative.display().to_string(),
            });
        }
    }
    Ok(())
}

/// The symlinks under `root` (paths relative to it, and their targets),
/// without following any; of the top-level names, only those `keep` accepts.
fn links_under(root: &Path, keep: impl Fn(&std::ffi::OsStr) -> bool) -> Vec<(PathBuf, PathBuf)> {
    let mut found = Vec::new();
    let mut directories = vec![PathBuf::new()];
    while let Some(relative) = directories.pop() {
        let Ok(entries) = fs::read_dir(root.join(&relative)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            if relative.as_os_str().is_empty() && !keep(&name) {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = relative.join(&name);
            if kind.is_symlink() {
                if let Ok(target) = fs::read_link(entry.path()) {
                    found.push((path, target));
                }
            } else if kind.is_dir() {
                directories.push(path);
            }
        }
    }
    found.sort();
    found
}
