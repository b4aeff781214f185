//! A build's `SOURCE_DATE_EPOCH`: the environment variable when it is set
//! (as BuildKit's clients read it), else, when the build is asked to be
//! reproducible (`--reproducible`, `[project] reproducible = true`), the
//! time of the project's last git commit.

use std::path::Path;

use miette::miette;

/// Where the epoch came from, for the build's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Environment,
    GitCommit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDate {
    pub epoch: u64,
    pub origin: Origin,
}

/// The build's epoch, if it has one. `env_value` is `SOURCE_DATE_EPOCH`
/// (empty counts as unset), `project_dir` the directory of stages.toml.
pub fn source_date(
    env_value: Option<&str>,
    reproducible: bool,
    project_dir: &Path,
) -> miette::Result<Option<SourceDate>> {
    if let Some(text) = env_value.map(str::trim).filter(|t| !t.is_empty()) {
        let epoch = text.parse::<u64>().map_err(|_| {
            miette!(
                help = "set it to a whole number of seconds since 1970-01-01 UTC, e.g. $(git log -1 --format=%ct)",
                "SOURCE_DATE_EPOCH=`{text}` is not a time"
            )
        })?;
        return Ok(Some(SourceDate {
            epoch,
            origin: Origin::Environment,
        }));
    }
    if !reproducible {
        return Ok(None);
    }
    let epoch = last_commit_time(project_dir).map_err(|why| {
        miette!(
            help = "set SOURCE_DATE_EPOCH (seconds since 1970-01-01 UTC), or commit the project to git",
            "a reproducible build takes its time from the last git commit, but {why}"
        )
    })?;
    Ok(Some(SourceDate {
        epoch,
        origin: Origin::GitCommit,
    }))
}

/// The committer time of `HEAD` of the repository holding `dir`.
fn last_commit_time(dir: &Path) -> Result<u64, String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .map_err(|e| format!("git cannot be run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{} is not in a git repository with a commit",
            dir.display()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .map_err(|_| format!("git gave `{}` for the last commit's time", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn the_environment_wins_and_an_empty_value_is_unset() {
        let dir = tempfile::tempdir().unwrap();
        let date = source_date(Some(" 42 "), true, dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(date.epoch, 42);
        assert_eq!(date.origin, Origin::Environment);
        assert_eq!(source_date(Some(""), false, dir.path()).unwrap(), None);
        assert_eq!(source_date(None, false, dir.path()).unwrap(), None);
        let refused = source_date(Some("yesterday"), false, dir.path()).unwrap_err();
        assert!(refused.to_string().contains("`yesterday` is not a time"));
    }

    #[test]
    fn reproducible_takes_the_last_commit_s_time_or_says_why_it_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let refused = source_date(None, true, dir.path()).unwrap_err();
        assert!(
            refused.to_string().contains("not in a git repository"),
            "{refused}"
        );
        git(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join("stages.toml"), "").unwrap();
        git(dir.path(), &["add", "stages.toml"]);
        git(dir.path(), &["commit", "-q", "-m", "first"]);
        let date = source_date(None, true, dir.path()).unwrap().unwrap();
        assert_eq!(
            date,
            SourceDate {
                epoch: 1_700_000_000,
                origin: Origin::GitCommit
            }
        );
    }
}
