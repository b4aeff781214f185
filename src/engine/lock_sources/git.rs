//! The commit a git source's ref names, asked of the repository with
//! `git ls-remote` (the user's git, with its credentials and SSH setup).
//! An annotated tag gives the commit it points at.

use std::time::Duration;

use crate::lockfile::Lock;
use crate::lockfile::pin::{git_ref, git_repository};

/// The full commit hash the ref of `source` names.
pub async fn resolve_ref(source: &str, timeout: Duration) -> Result<String, String> {
    let reference = git_ref(source);
    if Lock::is_commit(reference) {
        return Ok(reference.to_owned());
    }
    let repository = git_repository(source);
    let run = tokio::process::Command::new("git")
        .args([
            "ls-remote",
            "--",
            repository,
            reference,
            &format!("{reference}^{{}}"),
        ])
        .env("GIT_TERMINAL_PROMPT", "0")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("git ls-remote took more than {} s", timeout.as_secs()))?
        .map_err(|error| format!("cannot run git: {error}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "git ls-remote failed: {}",
            stderr.lines().last().unwrap_or("no message").trim()
        ));
    }
    pick_commit(&String::from_utf8_lossy(&output.stdout), reference)
        .ok_or_else(|| format!("the repository has no ref `{reference}`"))
}

/// From `git ls-remote` lines (`<hash>\t<name>`): a peeled tag first, then
/// the tag, then the branch, then any ref named `reference`.
fn pick_commit(listing: &str, reference: &str) -> Option<String> {
    let lines: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(hash, _)| Lock::is_commit(hash))
        .collect();
    let named = |name: String| {
        lines
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(h, _)| h.to_string())
    };
    named(format!("refs/tags/{reference}^{{}}"))
        .or_else(|| named(format!("refs/tags/{reference}")))
        .or_else(|| named(format!("refs/heads/{reference}")))
        .or_else(|| named(reference.to_owned()))
        .or_else(|| {
            lines
                .iter()
                .find(|(_, n)| n.ends_with(&format!("/{reference}")))
                .map(|(h, _)| h.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn a_peeled_tag_wins_over_the_tag_object() {
        let listing = format!("{A}\trefs/tags/v1\n{B}\trefs/tags/v1^{{}}\n");
        assert_eq!(pick_commit(&listing, "v1").as_deref(), Some(B));
        let listing = format!("{A}\trefs/heads/main\n");
        assert_eq!(pick_commit(&listing, "main").as_deref(), Some(A));
        assert_eq!(
            pick_commit(&format!("{A}\tHEAD\n"), "HEAD").as_deref(),
            Some(A)
        );
        assert_eq!(pick_commit("", "main"), None);
    }

    #[tokio::test]
    async fn a_local_repository_ref_resolves_to_its_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .output()
                .expect("run git");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&["init", "-q", "-b", "main"]);
        git(&["commit", "-q", "--allow-empty", "-m", "one"]);
        git(&["tag", "-a", "v1", "-m", "v1"]);
        let commit = git(&["rev-parse", "HEAD"]);
        let source = format!("file://{}#v1", dir.path().display());
        let resolved = resolve_ref(&source, Duration::from_secs(30)).await;
        assert_eq!(resolved.as_deref(), Ok(commit.as_str()));
        let missing = resolve_ref(
            &format!("file://{}#nope", dir.path().display()),
            Duration::from_secs(30),
        )
        .await;
        assert!(missing.is_err());
    }
}
