//! The ONE place that lists what an image comparison forgives, each entry
//! with the reason Docker itself does not reproduce it: building the same
//! Dockerfile twice with `DOCKER_BUILDKIT=0 docker build --no-cache` gives
//! these differences too (`classic_builds_differ_only_in_the_exclusions`
//! checks that). Modification times are never compared, for the same
//! reason; nothing else is forgiven — not `null` against `[]`, not a link
//! against a directory, not a label.

/// What an exclusion forgives about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgiven {
    /// Its size and contents (kind, mode, owner and link target still count).
    Content,
    /// Whether it exists at all, and then its contents: names a RUN step
    /// makes up (random or time-based) under a directory.
    Presence,
}

pub struct Exclusion {
    /// The manifest's project name.
    pub project: &'static str,
    /// A path in the image, without the leading `/`; ending in `/*` for
    /// everything under a directory.
    pub path: &'static str,
    pub forgiven: Forgiven,
    pub reason: &'static str,
}

/// `apt-get install` in a RUN step: what apt and dpkg write of the time.
const APT_LOGS: &str = "apt and dpkg log the date and time of every install they make: a RUN that installs packages writes another log on every build";
const LDCONFIG_CACHE: &str = "ldconfig's auxiliary cache records the change times (ctime) of the libraries it read, which the install just made";

pub const EXCLUSIONS: &[Exclusion] = &[
    Exclusion {
        project: "golang-samples-run-helloworld",
        path: "var/log/apt/history.log",
        forgiven: Forgiven::Content,
        reason: APT_LOGS,
    },
    Exclusion {
        project: "golang-samples-run-helloworld",
        path: "var/log/apt/term.log",
        forgiven: Forgiven::Content,
        reason: APT_LOGS,
    },
    Exclusion {
        project: "golang-samples-run-helloworld",
        path: "var/log/dpkg.log",
        forgiven: Forgiven::Content,
        reason: APT_LOGS,
    },
    Exclusion {
        project: "golang-samples-run-helloworld",
        path: "var/cache/ldconfig/aux-cache",
        forgiven: Forgiven::Content,
        reason: LDCONFIG_CACHE,
    },
];

/// Whether (and how much) the comparison forgives `path` of `project`.
pub fn forgiven(project: &str, path: &str) -> Option<Forgiven> {
    EXCLUSIONS
        .iter()
        .find(|e| e.project == project && matches(e.path, path))
        .map(|e| e.forgiven)
}

fn matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(dir) => path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/')),
        None => pattern == path,
    }
}
