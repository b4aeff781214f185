//! A target stage that is an empty `FROM scratch` and nothing else (istio's
//! `FROM scratch AS default`, picked by a build argument for the stage
//! built on it): BuildKit and the native back end make the empty image,
//! but the classic builder has no image for it and stops with "No image
//! was generated". Given one instruction that commits without changing the
//! files or the configuration, it makes that image: an `ARG` is committed
//! as a history line and nothing else (no layer, no setting), and a warm
//! build takes it from the builder's cache.

use crate::config::model::{Base, Project};
use crate::convert::export::ExportedStep;

/// The instruction given to the classic builder; its name says why it is
/// in the image's history.
pub const EMPTY_STAGE_ARG: &str = "ARG STAGES_EMPTY_SCRATCH_STAGE";

/// Whether `stage`, the last stage of the export, leaves the classic
/// builder without an image: it has no instruction but its FROM, and it
/// starts from scratch, directly or through stages as bare as itself.
pub fn has_no_image(
    project: &Project,
    stage: &str,
    instructions: &[ExportedStep],
    overrides: &[(String, String)],
) -> bool {
    let mut current = stage.to_owned();
    // Each stage of the chain is an earlier one: the walk ends.
    for _ in 0..=project.stages.len() {
        let own = instructions.iter().filter(|i| i.stage == current).count();
        if own != 1 {
            return false;
        }
        let Some(model) = project.stage(&current) else {
            return false;
        };
        match project.base_with(model, overrides) {
            Base::Image(image) => return image == "scratch",
            Base::Stage(base) => current = base,
        }
    }
    false
}

/// The Dockerfile with the committing instruction appended to its last
/// stage.
pub fn with_commit(dockerfile: &str) -> String {
    let mut text = dockerfile.trim_end_matches('\n').to_owned();
    text.push('\n');
    text.push_str(EMPTY_STAGE_ARG);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::export::{ExportOptions, export_dockerfile};

    fn project(text: &str) -> Project {
        let outcome =
            crate::check::check(&crate::diagnostics::SourceFile::new("stages.toml", text));
        outcome
            .project
            .unwrap_or_else(|| panic!("{:?}", outcome.diagnostics))
    }

    fn bare(project: &Project, stages: &[&str], overrides: &[(String, String)]) -> bool {
        let stages: Vec<String> = stages.iter().map(|s| (*s).to_owned()).collect();
        let exported =
            export_dockerfile(project, &stages, &ExportOptions::default()).expect("export");
        let target = stages.last().expect("a target");
        has_no_image(project, target, &exported.instructions, overrides)
    }

    #[test]
    fn only_a_bare_scratch_chain_has_no_image() {
        let project = project(
            r#"
[args]
BASE = "empty"

[stages.empty]
from = "scratch"

[stages.alias]
from = "${BASE}"

[stages.set]
from = "scratch"
env = { A = "1" }

[stages.busy]
from = "busybox"
"#,
        );
        assert!(bare(&project, &["empty"], &[]));
        assert!(bare(&project, &["empty", "alias"], &[]));
        assert!(!bare(&project, &["set"], &[]));
        assert!(!bare(&project, &["busy"], &[]));
        let other = [("BASE".to_owned(), "busybox".to_owned())];
        assert!(!bare(&project, &["empty", "alias"], &other));
    }

    #[test]
    fn the_commit_is_the_last_line() {
        assert_eq!(
            with_commit("FROM scratch AS empty\n\n"),
            format!("FROM scratch AS empty\n{EMPTY_STAGE_ARG}\n")
        );
    }
}
