//! Building resolved targets with any back end: image targets are built,
//! artifact targets have their stages built and their artifacts extracted
//! (`artifacts`) into a staging directory; once every target is built, the
//! files are placed in their output directories and the images tagged —
//! every tag, or none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::artifacts::{clashing_artifacts, copy_out, extract_failure};
use super::backend::{ArtifactsBuild, Backend, BuildFailure, StageBuild};
use super::client::{Engine, EngineError};
use super::codes;
use super::extract::Staging;
use super::interrupt::{Interrupt, Janitor};
use super::output_dir::{OutputDir, target_output_dir};
use super::progress::{Event, ProgressSink};
use super::user_hint::explain_user;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};
use crate::graph::{ProjectGraph, ResolvedArtifact, ResolvedKind, ResolvedTarget};

/// Everything a build of targets needs besides the Engine and back end.
#[derive(Debug, Clone)]
pub struct BuildSettings<'a> {
    pub project: &'a Project,
    pub graph: &'a ProjectGraph,
    /// The directory of stages.toml: outputs are relative to it.
    pub config_dir: &'a Path,
    /// `--output TARGET=DIR`: output directories given on the command
    /// line (absolute), used as given instead of the target's `output`.
    pub output_overrides: &'a BTreeMap<String, PathBuf>,
    pub context_dir: &'a Path,
    /// `--build-arg` values; they override the target's own.
    pub build_args: &'a BTreeMap<String, String>,
    pub no_cache: bool,
}

/// What one target produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    Image {
        target: String,
        image: String,
        tags: Vec<String>,
    },
    Artifacts {
        target: String,
        files: Vec<PathBuf>,
    },
}

/// A target built but not published yet: tags to set, files to place.
enum Built {
    Image {
        image: String,
        tags: Vec<String>,
    },
    Artifacts {
        output_dir: PathBuf,
        staging: Staging,
    },
}

/// Builds `targets` in order, stopping at the first failure; then, only
/// when every target was built and nobody asked the build to stop, places
/// the artifacts and sets the tags. A tag that cannot be set puts back the
/// tags set before it.
pub async fn build_targets<E: Engine, B: Backend>(
    engine: &E,
    backend: &B,
    settings: &BuildSettings<'_>,
    targets: &[ResolvedTarget],
    progress: &mut dyn ProgressSink,
    janitor: &Janitor,
    interrupt: &Interrupt,
) -> Result<Vec<TargetOutcome>, BuildFailure> {
    // Every output directory is settled before anything is built.
    let mut outputs = Vec::new();
    for target in targets {
        outputs.push(output_dir(settings, target)?);
    }
    let mut built = Vec::new();
    for (target, output) in targets.iter().zip(outputs) {
        let outcome = build_target(
            engine, backend, settings, target, output, progress, janitor, interrupt,
        )
        .await;
        match outcome {
            Ok(done) => built.push((target, done)),
            Err(failure) => {
                // An interrupted build says "interrupted" once, not that a target failed.
                let interrupted =
                    matches!(failure, BuildFailure::Interrupted) || interrupt.is_requested();
                if !interrupted {
                    progress.event(Event::Failed {
                        target: &target.name,
                    });
                }
                return Err(match failure {
                    BuildFailure::Reported(diagnostics) => BuildFailure::Reported(
                        diagnostics
                            .into_iter()
                            .map(|d| explain_user(settings.project, d))
                            .collect(),
                    ),
                    other => other,
                });
            }
        }
    }
    if interrupt.is_requested() {
        return Err(BuildFailure::Interrupted);
    }
    publish(engine, settings, built, progress).await
}

async fn publish<E: Engine>(
    engine: &E,
    settings: &BuildSettings<'_>,
    built: Vec<(&ResolvedTarget, Built)>,
    progress: &mut dyn ProgressSink,
) -> Result<Vec<TargetOutcome>, BuildFailure> {
    let mut outcomes = Vec::new();
    let mut images = Vec::new();
    for (target, done) in built {
        match done {
            Built::Artifacts {
                output_dir,
                staging,
            } => {
                let files = staging
                    .commit()
                    .map_err(|e| extract_failure(settings, target, None, e))?;
                progress.event(Event::Exported {
                    target: &target.name,
                    path: &output_dir,
                });
                outcomes.push(TargetOutcome::Artifacts {
                    target: target.name.clone(),
                    files,
                });
            }
            Built::Image { image, tags } => images.push((target, image, tags)),
        }
    }
    let mut moved: Vec<MovedTag> = Vec::new();
    for (target, image, tags) in &images {
        for tag in tags {
            let previous = engine.inspect_image(tag).await.ok().and_then(|i| i.id);
            if previous.as_deref() == Some(image.as_str()) {
                // Already names it (an unchanged rebuild): nothing to set or put back.
                continue;
            }
            if let Err(error) = engine.tag(image, tag).await {
                put_back(engine, &moved).await;
                return Err(tag_failure(settings, target, tag, error));
            }
            moved.push(MovedTag {
                tag: tag.clone(),
                previous,
            });
        }
    }
    for (target, image, tags) in images {
        for tag in &tags {
            progress.event(Event::Tagged {
                target: &target.name,
                tag,
            });
        }
        outcomes.push(TargetOutcome::Image {
            target: target.name.clone(),
            image,
            tags,
        });
    }
    Ok(outcomes)
}

/// A tag this build set, and the image it named before, if any.
struct MovedTag {
    tag: String,
    previous: Option<String>,
}

/// Best effort: each tag back on its previous image, or removed when it
/// is new (`noprune`: the image's parents stay).
async fn put_back<E: Engine>(engine: &E, moved: &[MovedTag]) {
    for moved in moved.iter().rev() {
        let _ = match &moved.previous {
            Some(previous) => engine.tag(previous, &moved.tag).await,
            None => engine.remove_image(&moved.tag).await,
        };
    }
}

#[allow(clippy::too_many_arguments)]
async fn build_target<E: Engine, B: Backend>(
    engine: &E,
    backend: &B,
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    output: Option<OutputDir>,
    progress: &mut dyn ProgressSink,
    janitor: &Janitor,
    interrupt: &Interrupt,
) -> Result<Built, BuildFailure> {
    let mut args: BTreeMap<String, String> = target.args().iter().cloned().collect();
    args.extend(
        settings
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    // A `from` with variables names the stage these args make it name.
    let overrides: Vec<(String, String)> =
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let project = settings.project.with_bases_for(&overrides);
    let graph = ProjectGraph::new(&project);
    let settings = &BuildSettings {
        project: &project,
        graph: &graph,
        ..settings.clone()
    };
    let needed = settings.graph.needed_stages(&target.stages());
    progress.event(Event::TargetStarted {
        target: &target.name,
        stages: &needed,
    });
    match &target.kind {
        ResolvedKind::Image {
            stage,
            tags,
            labels,
            ..
        } => {
            let image = build_one(
                backend,
                settings,
                stage,
                Some((labels, tags)),
                &args,
                progress,
                janitor,
                interrupt,
            )
            .await?;
            progress.event(Event::ImageBuilt {
                target: &target.name,
                stage,
                image: &image,
            });
            Ok(Built::Image {
                image,
                tags: tags.clone(),
            })
        }
        ResolvedKind::Artifacts { artifacts, .. } => {
            if let Some(clash) = clashing_artifacts(settings.project, artifacts) {
                return Err(BuildFailure::Reported(vec![clash]));
            }
            let Some(OutputDir {
                path: output_dir,
                stage_within,
            }) = output
            else {
                return Err(BuildFailure::Reported(vec![Diagnostic::error(
                    codes::ARTIFACT_EXPORT,
                    format!("target `{}` has no output directory", target.name),
                )]));
            };
            let staging = if stage_within {
                Staging::within_for(&output_dir, janitor.build_id())
            } else {
                Staging::beside_for(&output_dir, janitor.build_id())
            }
            .map_err(|e| extract_failure(settings, target, None, e))?;
            let request = ArtifactsBuild {
                build: StageBuild {
                    project: settings.project,
                    stage: &target.name,
                    stages: &needed,
                    build_args: &args,
                    image_target: false,
                    tags: &[],
                    labels: BTreeMap::new(),
                    no_cache: settings.no_cache,
                    context_dir: settings.context_dir,
                },
                artifacts,
            };
            if let Some(archive) = backend
                .artifacts_archive(&request, progress, interrupt)
                .await
            {
                staging
                    .unpack(&archive?[..])
                    .map_err(|e| extract_failure(settings, target, None, e))?;
                return Ok(Built::Artifacts {
                    output_dir,
                    staging,
                });
            }
            for stage in target.stages() {
                let image = build_one(
                    backend, settings, &stage, None, &args, progress, janitor, interrupt,
                )
                .await?;
                let of_stage: Vec<&ResolvedArtifact> =
                    artifacts.iter().filter(|a| a.stage == stage).collect();
                copy_out(
                    engine, settings, target, &image, &of_stage, &staging, janitor,
                )
                .await?;
            }
            Ok(Built::Artifacts {
                output_dir,
                staging,
            })
        }
    }
}

/// The output directory of an artifact target (`None` for an image
/// target).
fn output_dir(
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
) -> Result<Option<OutputDir>, BuildFailure> {
    target_output_dir(
        settings.project,
        settings.config_dir,
        settings.output_overrides,
        target,
    )
    .map_err(|diagnostic| BuildFailure::Reported(vec![diagnostic]))
}

/// An image target's labels and tags.
type ImageTarget<'a> = (&'a [(String, String)], &'a [String]);

#[allow(clippy::too_many_arguments)]
async fn build_one<B: Backend>(
    backend: &B,
    settings: &BuildSettings<'_>,
    stage: &str,
    image_target: Option<ImageTarget<'_>>,
    args: &BTreeMap<String, String>,
    progress: &mut dyn ProgressSink,
    janitor: &Janitor,
    interrupt: &Interrupt,
) -> Result<String, BuildFailure> {
    let stages = settings.graph.needed_stages(&[stage.to_owned()]);
    // Exactly the labels the user asked for: a label of the build's own
    // (an id, a digest of stages.toml) would make a new image of the same
    // content and move the tag on every change of a comment.
    let (labels, tags) = image_target.unwrap_or_default();
    let labels = labels.iter().cloned().collect();
    let request = StageBuild {
        project: settings.project,
        stage,
        stages: &stages,
        build_args: args,
        image_target: image_target.is_some(),
        tags,
        labels,
        no_cache: settings.no_cache,
        context_dir: settings.context_dir,
    };
    backend
        .build_stage(&request, progress, janitor, interrupt)
        .await
}

fn tag_failure(
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    tag: &str,
    error: EngineError,
) -> BuildFailure {
    let span = settings
        .project
        .target(&target.name)
        .and_then(|t| match &t.kind {
            crate::config::model::TargetKind::Image { tags, .. } => {
                tags.iter().find(|t| t.value == tag).map(|t| t.span)
            }
            crate::config::model::TargetKind::Artifacts { .. } => None,
        })
        .unwrap_or_default();
    let mut message = format!("target `{}`: {error}", target.name);
    if let Some(cause) = std::error::Error::source(&error) {
        message.push_str(&format!(": {cause}"));
    }
    BuildFailure::Reported(vec![
        Diagnostic::error(codes::TAG_FAILED, message)
            .with_label(Label::primary(span, "this tag"))
            .with_help("use a valid image reference: name[:tag], lowercase"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;
    use crate::engine::backend::dockerfile::DockerfileBackend;
    use crate::engine::client::BuildMessage;
    use crate::engine::fake::{Call, FakeEngine, output};
    use crate::engine::progress::Recorder;
    use crate::graph::resolve_targets;

    const TOML: &str = r#"
[stages.build]
from = "busybox:stages-test"
steps = [
  { run = "echo one" },
  { run = "mkdir -p /out && echo app > /out/app" },
]

[artifacts.app]
stage = "build"
path = "/out/app"

[targets.image]
stage = "build"
tags = ["demo:1", "demo:latest"]

[targets.files]
artifacts = ["app"]
output = "dist/"

[targets.half-tagged]
stage = "build"
tags = ["demo:2", "demo:refused"]
"#;

    struct Fixture {
        project: Project,
        graph: ProjectGraph,
        dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let outcome = crate::check::check(&SourceFile::new("stages.toml", TOML));
        let project = outcome.project.expect("valid project");
        let graph = ProjectGraph::new(&project);
        Fixture {
            project,
            graph,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    async fn run(
        fixture: &Fixture,
        engine: &FakeEngine,
        target: &str,
    ) -> (Result<Vec<TargetOutcome>, BuildFailure>, Janitor, Recorder) {
        let targets = resolve_targets(&fixture.project, &[target.to_owned()]).expect("target");
        let args = BTreeMap::new();
        let settings = BuildSettings {
            project: &fixture.project,
            graph: &fixture.graph,
            config_dir: fixture.dir.path(),
            output_overrides: &BTreeMap::new(),
            context_dir: fixture.dir.path(),
            build_args: &args,
            no_cache: false,
        };
        let janitor = Janitor::new();
        let mut recorder = Recorder::default();
        let backend = DockerfileBackend::new(engine);
        let result = build_targets(
            engine,
            &backend,
            &settings,
            &targets,
            &mut recorder,
            &janitor,
            &Interrupt::never(),
        )
        .await;
        (result, janitor, recorder)
    }

    fn succeeding_build() -> Vec<BuildMessage> {
        vec![
            output(&[
                "Step 1/3 : FROM busybox:stages-test AS build",
                " ---> 024426f400c6",
            ]),
            output(&["Step 2/3 : RUN echo one", " ---> Running in 5f2c0a1b9e3d"]),
            output(&[
                "one",
                "Removing intermediate container 5f2c0a1b9e3d",
                " ---> 1a2b3c4d5e6f",
            ]),
            output(&["Step 3/3 : RUN mkdir -p /out && echo app > /out/app"]),
            output(&[
                " ---> Running in 6f2c0a1b9e3d",
                "Removing intermediate container 6f2c0a1b9e3d",
            ]),
            BuildMessage::ImageId("sha256:built".to_owned()),
            output(&["Successfully built 0a1b2c3d4e5f"]),
        ]
    }

    #[tokio::test]
    async fn a_tag_that_fails_puts_back_the_tags_set_before_it() {
        let fixture = fixture();
        let engine = FakeEngine::with_builds(vec![succeeding_build()]);
        let (result, _, recorder) = run(&fixture, &engine, "half-tagged").await;
        assert!(result.is_err(), "the refused tag fails the build");
        let tags: Vec<_> = engine
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Call::Tag { .. }))
            .collect();
        assert_eq!(
            tags.last(),
            Some(&Call::Tag {
                // The fake Engine names a reference's previous image after it.
                image: "demo:2".into(),
                reference: "demo:2".into()
            }),
            "demo:2 is put back on the image it named before: {tags:?}"
        );
        assert!(
            !recorder.events.iter().any(|e| e["event"] == "tagged"),
            "no tag is reported as set"
        );
    }

    #[tokio::test]
    async fn an_image_target_is_tagged_with_every_tag_after_its_build() {
        let fixture = fixture();
        let engine = FakeEngine::with_builds(vec![succeeding_build()]);
        let (result, janitor, recorder) = run(&fixture, &engine, "image").await;
        let outcomes = result.expect("build succeeds");
        assert_eq!(
            outcomes,
            vec![TargetOutcome::Image {
                target: "image".into(),
                image: "sha256:built".into(),
                tags: vec!["demo:1".into(), "demo:latest".into()],
            }]
        );
        let calls = engine.calls();
        assert_eq!(
            calls,
            vec![
                Call::Build {
                    target: Some("build".into()),
                    no_cache: false
                },
                Call::Tag {
                    image: "sha256:built".into(),
                    reference: "demo:1".into()
                },
                Call::Tag {
                    image: "sha256:built".into(),
                    reference: "demo:latest".into()
                },
            ]
        );
        assert!(
            janitor.tracked().is_empty(),
            "removed containers are forgotten"
        );
        let steps: Vec<_> = recorder
            .events
            .iter()
            .filter(|e| e["event"] == "step")
            .map(|e| (e["stage"].clone(), e["index"].clone()))
            .collect();
        assert_eq!(steps.len(), 3);
        assert!(
            recorder
                .events
                .iter()
                .any(|e| e["event"] == "output" && e["line"] == "one")
        );
    }

    #[tokio::test]
    async fn a_failed_step_is_a_diagnostic_on_that_step_and_moves_no_tag() {
        let fixture = fixture();
        let engine = FakeEngine::with_builds(vec![vec![
            output(&[
                "Step 1/3 : FROM busybox:stages-test AS build",
                " ---> 024426f400c6",
            ]),
            output(&["Step 2/3 : RUN echo one", " ---> Running in 5f2c0a1b9e3d"]),
            output(&["one", "two"]),
            BuildMessage::Error(
                "The command '/bin/sh -c echo one' returned a non-zero code: 4".into(),
            ),
        ]]);
        let (result, janitor, _) = run(&fixture, &engine, "image").await;
        let Err(BuildFailure::Reported(diagnostics)) = result else {
            panic!("expected a reported failure");
        };
        let diagnostic = &diagnostics[0];
        assert_eq!(diagnostic.code, codes::STEP_FAILED);
        assert!(
            diagnostic
                .message
                .starts_with("step 1 (RUN) of stage `build` failed: it exited with code 4")
        );
        assert!(diagnostic.message.contains("│ two"));
        let step_span = fixture.project.stages[0].steps[0].span;
        assert_eq!(diagnostic.primary_span(), Some(step_span));
        assert!(!engine.calls().iter().any(|c| matches!(c, Call::Tag { .. })));
        // The builder never said it removed the container: the janitor will.
        assert_eq!(janitor.tracked(), vec!["5f2c0a1b9e3d".to_owned()]);
    }

    #[tokio::test]
    async fn an_artifact_target_copies_out_of_a_container_it_removes() {
        let fixture = fixture();
        let mut engine = FakeEngine::with_builds(vec![succeeding_build()]);
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_path("app").expect("path");
        header.set_size(4);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append(&header, &b"app\n"[..]).expect("append");
        engine
            .archives
            .insert("/out/app".into(), tar.into_inner().expect("tar"));
        let (result, janitor, recorder) = run(&fixture, &engine, "files").await;
        result.expect("export succeeds");
        let exported = fixture.dir.path().join("dist/app");
        assert_eq!(
            std::fs::read_to_string(exported).expect("exported"),
            "app\n"
        );
        let calls = engine.calls();
        assert!(calls.contains(&Call::Create {
            image: "sha256:built".into()
        }));
        assert!(calls.contains(&Call::Download {
            container: "container-of-sha256:built".into(),
            path: "/out/app".into()
        }));
        assert_eq!(
            calls.last(),
            Some(&Call::Remove {
                container: "container-of-sha256:built".into()
            })
        );
        assert!(janitor.tracked().is_empty());
        assert!(recorder.events.iter().any(|e| e["event"] == "exported"));
    }

    #[test]
    fn artifacts_landing_on_the_same_name_clash() {
        let fixture = fixture();
        let args = BTreeMap::new();
        let settings = BuildSettings {
            project: &fixture.project,
            graph: &fixture.graph,
            config_dir: fixture.dir.path(),
            output_overrides: &BTreeMap::new(),
            context_dir: fixture.dir.path(),
            build_args: &args,
            no_cache: false,
        };
        let artifact = |name: &str, path: &str| ResolvedArtifact {
            name: name.into(),
            stage: "build".into(),
            path: path.into(),
        };
        let clash = clashing_artifacts(
            settings.project,
            &[artifact("a", "/x/app"), artifact("b", "/y/app/")],
        );
        assert!(
            clash
                .expect("a clash")
                .message
                .contains("would both be written to `app`")
        );
        assert!(
            clashing_artifacts(
                settings.project,
                &[artifact("a", "/x/app"), artifact("b", "/x/lib")]
            )
            .is_none()
        );
    }

    #[tokio::test]
    async fn the_context_sent_holds_the_exported_dockerfile() {
        let fixture = fixture();
        let engine = FakeEngine::with_builds(vec![succeeding_build()]);
        let (result, _, _) = run(&fixture, &engine, "image").await;
        result.expect("build succeeds");
        let contexts = engine.contexts.lock().expect("contexts").clone();
        let mut archive = tar::Archive::new(&contexts[0][..]);
        let mut dockerfile = String::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            if entry.path().expect("path").to_str() == Some(crate::engine::context::DOCKERFILE_NAME)
            {
                std::io::Read::read_to_string(&mut entry, &mut dockerfile).expect("read");
            }
        }
        assert!(
            dockerfile.contains("FROM busybox:stages-test AS build"),
            "{dockerfile}"
        );
        assert!(dockerfile.contains("RUN echo one"), "{dockerfile}");
    }
}
