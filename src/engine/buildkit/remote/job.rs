//! One target made ready for any builder: its Dockerfile exported
//! (what BuildKit's frontend cannot run is refused first, as on the
//! Engine), its build arguments, labels, platforms and where the image
//! goes. Planned before any builder is asked anything.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::model::{Project, StepKind, TargetKind};
use crate::convert::export::ExportedDockerfile;
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::backend::StageBuild;
use crate::engine::buildkit::backend::prepare;
use crate::engine::codes;
use crate::graph::{ProjectGraph, ResolvedKind, ResolvedTarget};

use super::artifacts::{FilesTarget, plan_files_job};
use super::solve::Publish;
use crate::engine::output_dir::OutputDir;

/// A target, ready to be solved.
#[derive(Debug, Clone)]
pub struct Job {
    pub target: String,
    pub stage: String,
    /// The project as these build arguments make it (`from` with variables).
    pub project: Project,
    pub exported: ExportedDockerfile,
    pub args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub platforms: Vec<String>,
    /// Whether a step runs a command: then a builder must be able to run
    /// programs of each platform (natively or emulated); copies alone
    /// build for any platform.
    pub runs_commands: bool,
    pub tags: Vec<String>,
    pub publish: Publish,
    /// An artifact target's output directory and artifacts.
    pub files: Option<FilesTarget>,
    /// The one platform this job builds when the target's platforms are
    /// spread over several builders (`parts`); `None`: the whole target.
    pub part: Option<String>,
}

impl Job {
    /// The target, and the platform when the job is one part of it:
    /// `app (linux/arm64)`.
    pub fn label(&self) -> String {
        part_label(&self.target, self.part.as_deref())
    }
}

/// `target`, or `target (platform)` for one part of it.
pub fn part_label(target: &str, part: Option<&str>) -> String {
    match part {
        Some(platform) => format!("{target} ({platform})"),
        None => target.to_owned(),
    }
}

/// Plans `target`; `push`: tagged images go to their registries;
/// `output`: an artifact target's output directory.
pub fn plan_job(
    project: &Project,
    target: &ResolvedTarget,
    build_args: &BTreeMap<String, String>,
    push: bool,
    context_dir: &Path,
    output: Option<OutputDir>,
) -> Result<Job, Vec<Diagnostic>> {
    let mut args: BTreeMap<String, String> = target.args().iter().cloned().collect();
    args.extend(build_args.iter().map(|(k, v)| (k.clone(), v.clone())));
    let ResolvedKind::Image {
        stage,
        tags,
        labels,
        platforms,
        ..
    } = &target.kind
    else {
        return plan_files_job(project, target, args, context_dir, output);
    };
    let overrides: Vec<(String, String)> =
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let project = project.with_bases_for(&overrides);
    let graph = ProjectGraph::new(&project);
    let stages = graph.needed_stages(std::slice::from_ref(stage));
    let publish = if push && !tags.is_empty() {
        Publish::Push { tags: tags.clone() }
    } else {
        if platforms.len() > 1 {
            return Err(vec![multi_platform_load(&project, &target.name)]);
        }
        Publish::DockerTarball
    };
    let without_platforms = without_target_platforms(&project);
    let labels: BTreeMap<String, String> = labels.iter().cloned().collect();
    let request = StageBuild {
        project: &without_platforms,
        stage,
        stages: &stages,
        build_args: &args,
        image_target: true,
        tags: &[],
        labels: labels.clone(),
        no_cache: false,
        context_dir,
    };
    let exported = prepare(&request)?;
    let runs_commands = runs_commands(&project, &stages);
    Ok(Job {
        runs_commands,
        target: target.name.clone(),
        stage: stage.clone(),
        project,
        exported,
        args,
        labels,
        platforms: platforms.clone(),
        tags: tags.clone(),
        publish,
        files: None,
        part: None,
    })
}

/// `project` with no target naming platforms: a builder chooses the
/// platform itself, so the Engine back ends' refusal of target platforms
/// (which the Dockerfile's preparation applies) does not apply here.
pub fn without_target_platforms(project: &Project) -> Project {
    let mut project = project.clone();
    for entry in &mut project.targets {
        match &mut entry.kind {
            TargetKind::Image { platforms, .. } | TargetKind::Artifacts { platforms, .. } => {
                platforms.clear();
            }
        }
    }
    project
}

/// Whether a step of `stages` runs a command.
pub fn runs_commands(project: &Project, stages: &[String]) -> bool {
    project
        .stages
        .iter()
        .filter(|s| stages.contains(&s.name.value))
        .any(|s| {
            s.steps
                .iter()
                .any(|step| matches!(step.kind, StepKind::Run(_)))
        })
}

fn multi_platform_load(project: &Project, name: &str) -> Diagnostic {
    let span = project.target(name).and_then(|t| match &t.kind {
        TargetKind::Image { platforms, .. } => platforms.get(1).map(|p| p.span),
        TargetKind::Artifacts { .. } => None,
    });
    let diagnostic = Diagnostic::error(
        codes::UNSUPPORTED_FEATURE,
        format!(
            "target `{name}`: a multi-platform image cannot be loaded into the Engine (BuildKit's docker exporter refuses manifest lists); nothing was built"
        ),
    )
    .with_help("add --push to push it to its tags as one index, or keep one platform in `platforms`");
    match span {
        Some(span) => diagnostic.with_label(Label::primary(span, "a second platform")),
        None => diagnostic,
    }
}
