//! Before the first step: every external image the needed stages read
//! (`from`, `copy.from-image`, mounts from an image) — the list `stages
//! plan` shows — is looked up on the Engine and, by `--pull`, pulled at
//! once, each for the platform its stage builds for. A missing image is
//! found here, never in the middle of a build.

use std::collections::BTreeMap;
use std::time::Duration;

use super::credentials::DockerConfig;
use super::errors::{RegistryError, stage_list};
use super::reference::ImageRef;
use super::transfer::run_all;
use crate::config::model::Project;
use crate::engine::client::{DockerEngine, Engine};
use crate::engine::progress::{Event, ProgressSink};
use crate::graph::{ProjectGraph, ResolvedTarget};

/// When to pull (`--pull`), as `docker build` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only images the Engine does not have (for the platform needed).
    #[default]
    Missing,
    /// Ask the registry for every image; only changed layers move.
    Always,
    /// Pull nothing; a missing image fails the build before it starts.
    Never,
}

/// An external image the build reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededImage {
    /// The reference with build arguments expanded.
    pub reference: String,
    /// The stage's `platform`, when it names one.
    pub platform: Option<String>,
    /// The stages that read it.
    pub stages: Vec<String>,
}

/// Every external image the stages of `targets` read, once per platform.
pub fn needed_images(
    project: &Project,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
) -> Vec<NeededImage> {
    let mut images: Vec<NeededImage> = Vec::new();
    for target in targets {
        let mut args: Vec<(String, String)> = target.args().to_vec();
        args.extend(build_args.iter().map(|(k, v)| (k.clone(), v.clone())));
        // A `from` with variables that names a stage reads no image.
        let project = &project.with_bases_for(&args);
        let graph = ProjectGraph::new(project);
        // `expand_global` takes the first match: --build-arg values, added last, go first.
        args.reverse();
        for stage in graph.needed_stages(&target.stages()) {
            let platform = project
                .stage(&stage)
                .and_then(|s| s.platform.as_ref())
                .map(|p| project.expand_global(&p.value, &args))
                .filter(|p| !p.is_empty());
            for (image, _) in graph.image_dependencies(&stage) {
                let reference = project.expand_global(&image, &args);
                if reference == "scratch" {
                    continue;
                }
                match images
                    .iter_mut()
                    .find(|i| i.reference == reference && i.platform == platform)
                {
                    Some(known) if !known.stages.contains(&stage) => {
                        known.stages.push(stage.clone())
                    }
                    Some(_) => {}
                    None => images.push(NeededImage {
                        reference,
                        platform: platform.clone(),
                        stages: vec![stage.clone()],
                    }),
                }
            }
        }
    }
    images
}

/// How pulls are made.
#[derive(Debug, Clone)]
pub struct PullSettings<'a> {
    pub policy: PullPolicy,
    pub config: &'a DockerConfig,
    /// How long a pull may go without a word from the Engine.
    pub idle: Duration,
}

/// Makes every image in `images` present on the Engine, as `settings.policy` says.
pub async fn pull_needed(
    engine: &DockerEngine,
    images: &[NeededImage],
    settings: &PullSettings<'_>,
    progress: &mut dyn ProgressSink,
) -> Result<(), RegistryError> {
    let mut to_pull: Vec<&NeededImage> = Vec::new();
    for image in images {
        let present = match settings.policy {
            PullPolicy::Always => false,
            PullPolicy::Missing | PullPolicy::Never => is_present(engine, image).await,
        };
        if !present {
            to_pull.push(image);
        }
    }
    if settings.policy == PullPolicy::Never {
        if to_pull.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = to_pull
            .iter()
            .map(|i| {
                let platform = i
                    .platform
                    .as_deref()
                    .map(|p| format!(" for {p}"))
                    .unwrap_or_default();
                format!(
                    "  {}{platform} (needed by {})",
                    i.reference,
                    stage_list(&i.stages)
                )
            })
            .collect();
        return Err(RegistryError::Missing {
            count: to_pull.len(),
            list: list.join("\n"),
        });
    }
    let mut errors = Vec::new();
    let mut pulls: Vec<(&NeededImage, String, Option<_>)> = Vec::new();
    for image in to_pull {
        let Some(parsed) = ImageRef::parse(&image.reference) else {
            errors.push(
                RegistryError::Failed {
                    action: "pull",
                    image: image.reference.clone(),
                    message: "not a valid image reference".to_owned(),
                }
                .needed_by(&image.stages),
            );
            continue;
        };
        let credentials = settings.config.credentials_for(&parsed).await?;
        pulls.push((image, parsed.pinned(), credentials));
    }
    let names: Vec<String> = pulls.iter().map(|(i, _, _)| i.reference.clone()).collect();
    let ends = run_all(
        "pull",
        &names,
        |index| {
            let (image, pinned, credentials) = &pulls[index];
            engine.pull(pinned, image.platform.as_deref(), credentials.as_ref())
        },
        settings.idle,
        progress,
    )
    .await;
    let config_path = config_path_text(settings.config);
    for ((name, end), (image, _, _)) in names.iter().zip(ends).zip(&pulls) {
        match end {
            Ok(state) => progress.event(Event::Pulled {
                image: name,
                digest: state.digest.as_deref(),
                up_to_date: state.up_to_date,
            }),
            Err(error) => {
                progress.event(Event::TransferFailed {
                    action: "pull",
                    name,
                });
                errors.push(
                    RegistryError::of_transfer("pull", name, error, &config_path)
                        .needed_by(&image.stages),
                );
            }
        }
    }
    RegistryError::from_all(errors).map_or(Ok(()), Err)
}

/// Where credentials were looked for, for the "docker login" help.
pub fn config_path_text(config: &DockerConfig) -> String {
    match &config.path {
        Some(path) => path.display().to_string(),
        None => format!("{}, which does not exist yet", config.location.display()),
    }
}

/// The Engine has the image, for the stage's platform when it names one.
async fn is_present(engine: &DockerEngine, image: &NeededImage) -> bool {
    let Ok(details) = engine.inspect_image(&image.reference).await else {
        return false;
    };
    let Some(wanted) = &image.platform else {
        return true;
    };
    let mut parts = wanted.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    let matches = |want: Option<&str>, have: Option<&String>| match want {
        None | Some("") => true,
        Some(want) => have.is_some_and(|have| have == want),
    };
    matches(os, details.os.as_ref())
        && matches(arch, details.architecture.as_ref())
        && matches(variant, details.variant.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;
    use crate::graph::resolve_targets;

    const TOML: &str = r#"
[args]
BASE = "busybox:default"

[stages.tools]
from = "reg.example:5000/tools:1"
platform = "linux/arm64"

[stages.app]
from = "${BASE}"
steps = [
  { copy = "/etc/motd", to = "/motd", from-image = "reg.example:5000/extra:2" },
  { copy = "/x", to = "/x", from = "tools" },
]

[stages.unused]
from = "never-pulled:1"

[stages.empty]
from = "scratch"

[targets.app]
stage = "app"
args = { BASE = "busybox:target" }

[targets.empty]
stage = "empty"
"#;

    #[test]
    fn the_images_of_the_needed_stages_with_their_platforms_and_args() {
        let outcome = crate::check::check(&SourceFile::new("stages.toml", TOML));
        let project = outcome.project.expect("valid project");
        let targets =
            resolve_targets(&project, &["app".to_owned(), "empty".to_owned()]).expect("targets");
        let mut overrides = BTreeMap::new();
        let images = needed_images(&project, &targets, &overrides);
        let found: Vec<(&str, Option<&str>, Vec<&str>)> = images
            .iter()
            .map(|i| {
                (
                    i.reference.as_str(),
                    i.platform.as_deref(),
                    i.stages.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "reg.example:5000/tools:1",
                    Some("linux/arm64"),
                    vec!["tools"]
                ),
                ("busybox:target", None, vec!["app"]),
                ("reg.example:5000/extra:2", None, vec!["app"]),
            ]
        );
        // --build-arg wins over the target's args.
        overrides.insert("BASE".to_owned(), "busybox:flag".to_owned());
        let images = needed_images(&project, &targets, &overrides);
        assert!(images.iter().any(|i| i.reference == "busybox:flag"));
        assert!(!images.iter().any(|i| i.reference == "busybox:target"));
    }
}
