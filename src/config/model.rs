//! The checked, normalised project: what every back end reads.
//!
//! Built from `raw::Manifest` by the checker (`crate::check`), or from a
//! Dockerfile by import. Everything here has been validated: references
//! resolve, names are valid, each step has one kind. Values that later
//! errors point at stay `Located`; equality ignores spans, so two projects
//! are equal when they mean the same thing.

use super::forms::{CommandForm, HealthcheckTable};
use crate::located::{Located, Span};

/// A whole `stages.toml`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Project {
    pub name: Option<String>,
    /// The build context, relative to the config file's directory.
    pub context: String,
    pub default_target: Option<Located<String>>,
    /// Global ARGs, in file order.
    pub args: Vec<ArgDecl>,
    /// Stages in file order.
    pub stages: Vec<Stage>,
    pub artifacts: Vec<Artifact>,
    pub targets: Vec<Target>,
    /// `[lint]`: which lint rules to skip, and whether findings are errors.
    pub lint: LintSettings,
    /// `[project] reproducible`: builds set `SOURCE_DATE_EPOCH` from the last git commit.
    pub reproducible: bool,
    /// `[project] builder`: the remote BuildKit builder, when
    /// `--builder` and `BUILDKIT_HOST` give none.
    pub builder: Option<Located<String>>,
}

/// `[lint]` of stages.toml.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LintSettings {
    /// Rule names, as written.
    pub skip: Vec<Located<String>>,
    pub error: bool,
}

/// `ARG NAME[=default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: Located<String>,
    pub default: Option<String>,
}

/// A stage: `FROM base AS name`, its settings, steps and image config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The stage name; its span points at the `[stages.NAME]` key.
    pub name: Located<String>,
    pub from: Located<Base>,
    pub platform: Option<Located<String>>,
    /// Applied right after FROM, in this order: args, env, workdir, user, shell.
    pub args: Vec<ArgDecl>,
    pub env: Vec<(Located<String>, Located<String>)>,
    pub workdir: Option<Located<String>>,
    pub user: Option<Located<String>>,
    pub shell: Option<Located<Vec<String>>>,
    pub steps: Vec<Step>,
    pub config: ImageConfig,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// An image reference (may contain `${ARG}`s); `scratch` is the empty image.
    Image(String),
    /// Another stage, by name.
    Stage(String),
}

/// Order-free image configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageConfig {
    pub cmd: Option<Located<CommandForm>>,
    pub entrypoint: Option<Located<CommandForm>>,
    pub expose: Vec<Located<String>>,
    pub labels: Vec<(String, String)>,
    pub volumes: Vec<Located<String>>,
    pub healthcheck: Option<Located<Health>>,
    pub stop_signal: Option<Located<String>>,
    /// Dockerfile lines run when this image is used as a base.
    pub onbuild: Vec<Located<String>>,
    /// The image's author (`MAINTAINER`), taken as written.
    pub maintainer: Option<Located<String>>,
}

impl ImageConfig {
    /// The Dockerfile keyword of the first setting made (in export's
    /// order); what a config step is written as.
    pub fn keyword(&self) -> &'static str {
        if self.cmd.is_some() {
            "CMD"
        } else if self.entrypoint.is_some() {
            "ENTRYPOINT"
        } else if !self.expose.is_empty() {
            "EXPOSE"
        } else if !self.labels.is_empty() {
            "LABEL"
        } else if !self.volumes.is_empty() {
            "VOLUME"
        } else if self.healthcheck.is_some() {
            "HEALTHCHECK"
        } else if self.stop_signal.is_some() {
            "STOPSIGNAL"
        } else if self.maintainer.is_some() {
            "MAINTAINER"
        } else {
            "ONBUILD"
        }
    }
}

impl Stage {
    /// Every piece of image configuration the stage makes: its config
    /// steps in order, then its config keys (applied after the steps).
    pub fn image_configs(&self) -> impl Iterator<Item = &ImageConfig> {
        self.steps
            .iter()
            .filter_map(|step| match &step.kind {
                StepKind::Config(config) => Some(config),
                _ => None,
            })
            .chain(std::iter::once(&self.config))
    }
}

/// A health check or its removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    None,
    Check(HealthcheckTable),
}

/// One ordered step; the span covers the whole step table.
#[derive(Debug, Clone, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub span: Span,
}

/// Like `Located`, a step's equality ignores where it was written.
impl PartialEq for Step {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    Run(Run),
    Copy(Copy),
    Artifact(ArtifactCopy),
    Add(Add),
    Env(Vec<(Located<String>, Located<String>)>),
    Workdir(Located<String>),
    User(Located<String>),
    Arg(Vec<ArgDecl>),
    Shell(Located<Vec<String>>),
    /// Image configuration applied at this place rather than after the
    /// steps: it expands variables (or takes the shell) as they are here.
    /// Holds one instruction's worth: exactly one of `label`, `expose`,
    /// `volume`, `stop-signal`, `cmd` or `entrypoint` is set.
    Config(ImageConfig),
}

impl StepKind {
    /// The Dockerfile keyword this step becomes.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Run(_) => "RUN",
            StepKind::Copy(_) | StepKind::Artifact(_) => "COPY",
            StepKind::Add(_) => "ADD",
            StepKind::Env(_) => "ENV",
            StepKind::Workdir(_) => "WORKDIR",
            StepKind::User(_) => "USER",
            StepKind::Arg(_) => "ARG",
            StepKind::Shell(_) => "SHELL",
            StepKind::Config(config) => config.keyword(),
        }
    }
}

/// `RUN [--mount…] [--network] [--security] [--device…] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub command: Located<CommandForm>,
    pub mounts: Vec<Located<Mount>>,
    pub network: Option<Located<String>>,
    pub security: Option<Located<String>>,
    /// CDI device names, each as `--device` takes it (`vendor.com/gpu=all,required`).
    pub devices: Vec<Located<String>>,
}

/// `RUN --mount=type=…`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount {
    pub kind: MountType,
    pub target: Option<String>,
    pub source: Option<String>,
    /// A stage name or image reference the source comes from.
    pub from: Option<Located<String>>,
    pub id: Option<String>,
    pub sharing: Option<String>,
    pub readonly: Option<bool>,
    pub required: Option<bool>,
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<String>,
    pub env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountKind {
    #[default]
    Bind,
    Cache,
    Secret,
    Tmpfs,
    Ssh,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Cache => "cache",
            MountKind::Secret => "secret",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Ssh => "ssh",
        }
    }

    /// The options a mount of this type takes (stages.toml's keys).
    pub fn options(self) -> &'static [&'static str] {
        match self {
            MountKind::Bind => &["target", "source", "from", "readonly"],
            MountKind::Cache => &[
                "target", "id", "sharing", "from", "source", "readonly", "mode", "uid", "gid",
            ],
            MountKind::Tmpfs => &["target", "size"],
            MountKind::Secret => &["id", "target", "env", "required", "mode", "uid", "gid"],
            MountKind::Ssh => &["id", "target", "required", "mode", "uid", "gid"],
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "bind" => MountKind::Bind,
            "cache" => MountKind::Cache,
            "secret" => MountKind::Secret,
            "tmpfs" => MountKind::Tmpfs,
            "ssh" => MountKind::Ssh,
            _ => return None,
        })
    }
}

/// A mount's type as written: known before the build, or a variable that
/// each build expands with the variables in scope at the RUN, as BuildKit
/// does (so a build arg can change the type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountType {
    Known(MountKind),
    Variable(String),
}

impl Default for MountType {
    fn default() -> Self {
        MountType::Known(MountKind::default())
    }
}

impl MountType {
    /// The type, when no variable gives it.
    pub fn known(&self) -> Option<MountKind> {
        match self {
            MountType::Known(kind) => Some(*kind),
            MountType::Variable(_) => None,
        }
    }

    /// Whether the type is known to be `kind`; a variable type is no type
    /// until a build expands it.
    pub fn is(&self, kind: MountKind) -> bool {
        self.known() == Some(kind)
    }

    /// The type as `--mount=type=` and stages.toml write it.
    pub fn as_str(&self) -> &str {
        match self {
            MountType::Known(kind) => kind.as_str(),
            MountType::Variable(text) => text,
        }
    }

    /// A type as written: text holding `$` is a variable type.
    pub fn parse(text: &str) -> Option<Self> {
        if text.contains('$') {
            return Some(MountType::Variable(text.to_owned()));
        }
        MountKind::parse(text).map(MountType::Known)
    }
}

/// `COPY [--from] [options] sources… to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub sources: Vec<Located<String>>,
    pub to: Located<String>,
    pub from: Option<CopyFrom>,
    pub options: CopyOptions,
    pub exclude: Vec<Located<String>>,
    pub parents: bool,
    /// Bodies of the `<<NAME` sources (`COPY <<EOF /to`), by delimiter, in source order.
    pub heredocs: Vec<(String, String)>,
}

/// Where a COPY reads from when not the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyFrom {
    Stage(Located<String>),
    Image(Located<String>),
}

/// Options shared by COPY, ADD and artifact copies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyOptions {
    pub chown: Option<Located<String>>,
    pub chmod: Option<Located<String>>,
    pub link: bool,
}

/// Copy of a named artifact: `COPY --from=<its stage> <its path> <to>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactCopy {
    pub artifact: Located<String>,
    pub to: Located<String>,
    pub options: CopyOptions,
}

/// `ADD [options] sources… to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub sources: Vec<Located<String>>,
    pub to: Located<String>,
    pub options: CopyOptions,
    pub checksum: Option<Located<String>>,
    pub keep_git_dir: bool,
    pub exclude: Vec<Located<String>>,
    pub parents: bool,
    /// `--unpack=…`: unset leaves BuildKit's default (local archives are
    /// unpacked, downloads are not).
    pub unpack: Option<bool>,
}

/// A named path produced by a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub name: Located<String>,
    pub stage: Located<String>,
    pub path: Located<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: Located<String>,
    pub kind: TargetKind,
    /// Build argument values for this target.
    pub args: Vec<(Located<String>, Located<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    Image {
        stage: Located<String>,
        tags: Vec<Located<String>>,
        labels: Vec<(String, String)>,
        platforms: Vec<Located<String>>,
    },
    Artifacts {
        artifacts: Vec<Located<String>>,
        output: Located<String>,
        /// Several: one directory per platform in `output`, as BuildKit's
        /// `local` exporter writes them (`linux_amd64/…`).
        platforms: Vec<Located<String>>,
    },
}

impl Project {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name.value == name)
    }

    pub fn artifact(&self, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name.value == name)
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name.value == name)
    }

    /// `text` with global args replaced by `overrides`, else their defaults
    /// (what Docker does to a `FROM` line). Defaults are expanded in turn
    /// with the args declared before them, so a name declared again has
    /// the value its last declaration computes.
    pub fn expand_global(&self, text: &str, overrides: &[(String, String)]) -> String {
        let overridden = |name: &str| {
            overrides
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut values: Vec<(String, String)> = Vec::new();
        for decl in &self.args {
            let name = &decl.name.value;
            let value = overridden(name).or_else(|| {
                decl.default.as_deref().map(|default| {
                    super::expand::expand(default, &|inner| {
                        values
                            .iter()
                            .rev()
                            .find(|(k, _)| k == inner)
                            .map(|(_, v)| v.clone())
                    })
                })
            });
            if let Some(value) = value {
                values.push((name.clone(), value));
            }
        }
        let lookup = |name: &str| {
            overridden(name).or_else(|| {
                values
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        super::expand::expand(text, &lookup)
    }
}
