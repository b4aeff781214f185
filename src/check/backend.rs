//! Features each build backend can or cannot express. The build command
//! calls `unsupported_features` for the backend it is about to use and the
//! stages it is about to build, before anything runs, and `check
//! --backend` reports the same list for every stage: whatever a back end
//! refuses from the file alone is here, and no back end ignores a setting
//! it cannot honour. The native back end's own list is `backend_native`;
//! targets' `platforms` are `target_platforms`.

use super::codes;
use crate::config::CommandForm;
use crate::config::model::{MountKind, Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::{Located, Span};

/// A way of turning the project into images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// stages' own scheduler over Engine primitives (containers, commits).
    Native,
    /// The Engine's classic builder fed the exported Dockerfile (no BuildKit).
    ClassicDockerfile,
    /// The Engine's embedded BuildKit with its built-in Dockerfile frontend
    /// (no `# syntax=` frontend image: there may be no registry to pull it
    /// from), served by stages' own session (no SSH agent forwarding).
    BuildKit,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Native => "the native builder",
            Backend::ClassicDockerfile => "the classic Dockerfile builder",
            Backend::BuildKit => "the Engine's built-in BuildKit frontend",
        }
    }
}

/// Help for what only a newer Dockerfile frontend than the Engine's
/// built-in one builds (ADD --unpack, RUN --device).
const NEWER_FRONTEND: &str = "export the Dockerfile (`stages export-dockerfile`) and build it with `docker buildx build`, whose BuildKit reads it";

/// The Engine's built-in frontend reads `type=$VAR` as an unknown type;
/// newer ones expand it, as the native back end does for each build.
const VARIABLE_MOUNT_TYPE: &str = "use `--backend native`, which expands the type for each build (`auto` does so by itself), or export the Dockerfile and build it with `docker buildx build`, whose BuildKit reads it";

/// One problem: which feature, where.
pub(super) fn unsupported(backend: Backend, feature: &str, span: Span, help: &str) -> Diagnostic {
    Diagnostic::error(
        codes::UNSUPPORTED_FEATURE,
        format!("{} cannot express {feature}", backend.name()),
    )
    .with_label(Label::primary(span, format!("{feature} is used here")))
    .with_help(help.to_owned())
}

/// Errors for every feature used by `stages` (the stages to build) or by
/// the project's targets that `backend` cannot express.
pub fn unsupported_features(
    project: &Project,
    backend: Backend,
    stages: &[String],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let other = match backend {
        Backend::Native => "use `--backend dockerfile` with BuildKit, or drop the feature",
        Backend::ClassicDockerfile => "use `--backend native`, or drop the feature",
        Backend::BuildKit => "use `--backend native`, or drop the feature",
    };
    let modern = backend != Backend::Native;
    for stage in project
        .stages
        .iter()
        .filter(|s| stages.contains(&s.name.value))
    {
        match backend {
            Backend::Native => super::backend_native::native_stage(project, stage, &mut out),
            // BuildKit builds a stage for the platform it names.
            Backend::BuildKit => {}
            Backend::ClassicDockerfile => {
                // The classic builder takes `FROM --platform` and builds
                // for the Engine's platform all the same.
                if let Some(platform) = &stage.platform {
                    out.push(unsupported(
                        backend,
                        "a stage platform",
                        platform.span,
                        "drop `platform` to build for the Engine's platform, or export the Dockerfile and build it with `docker buildx build --platform`",
                    ));
                }
            }
        }
        for step in &stage.steps {
            match &step.kind {
                StepKind::Run(run) => {
                    if let Some(device) = run.devices.first() {
                        out.push(unsupported(
                            backend,
                            "`devices` on a run step",
                            device.span,
                            NEWER_FRONTEND,
                        ));
                    }
                    for mount in &run.mounts {
                        let kind = &mount.value.kind;
                        let refused = match backend {
                            Backend::Native | Backend::BuildKit => kind.is(MountKind::Ssh),
                            Backend::ClassicDockerfile => true,
                        };
                        if refused {
                            let feature = match kind.known() {
                                Some(known) => format!("`{}` mounts", known.as_str()),
                                None => "mounts".to_owned(),
                            };
                            out.push(unsupported(backend, &feature, mount.span, other));
                        } else if backend == Backend::BuildKit && kind.known().is_none() {
                            out.push(unsupported(
                                backend,
                                "a mount type given by a variable",
                                mount.span,
                                VARIABLE_MOUNT_TYPE,
                            ));
                        }
                    }
                    if modern {
                        if let Some(network) = &run.network {
                            out.push(unsupported(
                                backend,
                                "`network` on a run step",
                                network.span,
                                other,
                            ));
                        }
                        if let Some(security) = &run.security {
                            out.push(unsupported(
                                backend,
                                "`security` on a run step",
                                security.span,
                                other,
                            ));
                        }
                        if let CommandForm::Shell(script) = &run.command.value
                            && script.trim_end().contains('\n')
                            && crate::config::continued::joined(script).is_none()
                        {
                            out.push(unsupported(
                                backend,
                                "multi-line `run` commands (heredocs)",
                                run.command.span,
                                other,
                            ));
                        }
                    }
                }
                StepKind::Copy(copy) if !copy.heredocs.is_empty() => {
                    out.push(unsupported(
                        backend,
                        "here-document copies (`heredocs`)",
                        step.span,
                        "export the Dockerfile and build it with BuildKit (`docker buildx build`)",
                    ));
                }
                StepKind::Copy(copy) if modern => {
                    classic_several_sources(&mut out, backend, &copy.sources, &copy.to);
                    classic_copy_options(
                        &mut out,
                        backend,
                        &copy.options,
                        copy.parents,
                        !copy.exclude.is_empty(),
                        step.span,
                        other,
                    );
                }
                StepKind::Artifact(copy) if modern => {
                    classic_copy_options(
                        &mut out,
                        backend,
                        &copy.options,
                        false,
                        false,
                        step.span,
                        other,
                    );
                }
                StepKind::Add(add) => {
                    classic_several_sources(&mut out, backend, &add.sources, &add.to);
                    if modern {
                        classic_copy_options(
                            &mut out,
                            backend,
                            &add.options,
                            add.parents,
                            !add.exclude.is_empty(),
                            step.span,
                            other,
                        );
                        if let Some(checksum) = &add.checksum {
                            out.push(unsupported(
                                backend,
                                "`checksum` on add",
                                checksum.span,
                                other,
                            ));
                        }
                    }
                    if add.keep_git_dir {
                        out.push(unsupported(
                            backend,
                            "`keep-git-dir` on add",
                            step.span,
                            other,
                        ));
                    }
                    if add.unpack.is_some() {
                        out.push(unsupported(
                            backend,
                            "`unpack` on add",
                            step.span,
                            NEWER_FRONTEND,
                        ));
                    }
                    if backend != Backend::ClassicDockerfile
                        && let Some(git) = add
                            .sources
                            .iter()
                            .find(|s| s.value.starts_with("git@") || s.value.ends_with(".git"))
                    {
                        out.push(unsupported(backend, "git sources in add", git.span, other));
                    }
                }
                _ => {}
            }
        }
    }
    super::target_platforms::target_platforms(project, backend, stages, &mut out);
    out
}

/// The classic builder refuses several sources unless the destination
/// ends with `/`; BuildKit (and native) copy them onto it in turn. Only a
/// list can be judged here: how many paths a wildcard matches is known
/// when the build reads the context.
fn classic_several_sources(
    out: &mut Vec<Diagnostic>,
    backend: Backend,
    sources: &[Located<String>],
    to: &Located<String>,
) {
    if backend != Backend::ClassicDockerfile
        || sources.len() < 2
        || to.value.ends_with('/')
        || to.value.contains('$')
    {
        return;
    }
    out.push(unsupported(
        backend,
        "several sources copied to a destination that does not end with `/`",
        to.span,
        "end the destination with `/` to copy every source into it; BuildKit and the native back end copy them onto it one after the other",
    ));
}

fn classic_copy_options(
    out: &mut Vec<Diagnostic>,
    backend: Backend,
    options: &crate::config::model::CopyOptions,
    parents: bool,
    exclude: bool,
    step: Span,
    help: &str,
) {
    if let Some(chmod) = &options.chmod {
        out.push(unsupported(backend, "`chmod` on copies", chmod.span, help));
    }
    for (used, feature) in [
        (options.link, "`link` on copies"),
        (parents, "`parents` on copies"),
        (exclude, "`exclude` on copies"),
    ] {
        if used {
            out.push(unsupported(backend, feature, step, help));
        }
    }
}
