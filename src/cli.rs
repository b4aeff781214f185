//! The command line: clap definitions only. Each subcommand's arguments are
//! one struct, handed whole to `crate::commands::<name>::run`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::commands::completion_names;

#[derive(Debug, Parser)]
#[command(
    name = "stages",
    version,
    about = "Declarative container builds: stages, artifacts and targets in stages.toml",
    long_about = "Describe stages, artifacts and targets in stages.toml; check it, see its graph, \
                  export or import Dockerfiles, and build it on any Docker Engine.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to use colours: auto honours NO_COLOR and CLICOLOR_FORCE, else colours on a terminal.
    #[arg(long, value_enum, global = true, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print only results and problems: no progress, no summaries, no "ok" lines.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every line of progress (plain lines, not the live view) and what the build runs on.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// Colours on a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces them).
    #[default]
    Auto,
    /// Always colours.
    Always,
    /// Never colours.
    Never,
}

#[derive(Debug, Subcommand)]
// Parsed once per run: a large variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Check stages.toml and report every problem with its place in the file.
    #[command(
        after_help = "Example:\n  stages check\n  stages check -f examples/href-counter/stages.toml --message-format json\n  stages check --backend dockerfile"
    )]
    Check(CheckArgs),
    /// Run BuildKit's build checks and the graph rules on stages.toml.
    #[command(
        long_about = "Run BuildKit's build checks (under BuildKit's own rule names) and rules of \
                      stages' own that need the whole stage graph on stages.toml, pointing into \
                      the file. Rules are skipped with `[lint] skip = [...]` in stages.toml or \
                      --skip; `[lint] error = true` makes findings errors. Exit 0 when clean or \
                      only warnings, 1 on errors (or on warnings with --error-on-warning).",
        after_help = "Example:\n  stages lint\n  stages lint --skip JSONArgsRecommended --error-on-warning\n  stages lint --message-format sarif > stages.sarif"
    )]
    Lint(LintArgs),
    /// Show the stage graph, or the part the given targets need.
    #[command(after_help = "Example:\n  stages graph\n  stages graph app --format mermaid")]
    Graph(GraphArgs),
    /// Show what a build would do: stages in parallel waves, and what is pruned.
    #[command(after_help = "Example:\n  stages plan app\n  stages plan app --build-arg FLAVOR=gpu")]
    Plan(PlanArgs),
    /// Print the JSON Schema of stages.toml (for Taplo / Even Better TOML).
    #[command(after_help = "Example:\n  stages schema -o schema/stages.schema.json --force")]
    Schema(SchemaArgs),
    /// Write a commented starter stages.toml.
    #[command(after_help = "Example:\n  stages init\n  stages init path/to/project --force")]
    Init(InitArgs),
    /// Print the shell code that completes commands, flags, and the target and stage names of the stages.toml in the current directory.
    #[command(
        after_help = "Example:\n  source <(stages completions bash)      # in ~/.bashrc\n  stages completions fish > ~/.config/fish/completions/stages.fish"
    )]
    Completions(CompletionsArgs),
    /// Read Dockerfiles the way BuildKit does: dump, outline, format.
    #[command(
        subcommand,
        after_help = "Example:\n  stages dockerfile outline Dockerfile\n  stages dockerfile fmt Dockerfile --check"
    )]
    Dockerfile(DockerfileCommand),
    /// Write the multi-stage Dockerfile equivalent to stages.toml.
    #[command(
        after_help = "Example:\n  stages export-dockerfile -o Dockerfile\n  stages export-dockerfile app --check -o Dockerfile"
    )]
    ExportDockerfile(ExportArgs),
    /// Turn a Dockerfile into a stages.toml.
    #[command(
        long_about = "Turn a Dockerfile into a stages.toml.\n\n\
                      ARGs before the first FROM become [args]; each FROM becomes a stage \
                      (unnamed stages are called stage-0, stage-1, …); ARG, ENV, WORKDIR, USER \
                      and SHELL right after FROM become stage keys, later ones steps; image \
                      configuration (CMD, LABEL, …) becomes stage keys; comments are kept. \
                      By default every `COPY --from=<stage> /absolute/path` becomes a named \
                      artifact in [artifacts] copied with `{ artifact = … }`; --no-artifacts \
                      keeps them as `{ copy = …, from = \"stage\" }`. Instructions with no \
                      stages.toml form are reported as errors and nothing is written.",
        after_help = "Example:\n  stages import Dockerfile -o stages.toml\n  stages import build/Dockerfile -o - --no-artifacts"
    )]
    Import(ImportArgs),
    /// Turn the builder pattern (Dockerfile.build + Dockerfile + build script) into one stages.toml.
    #[command(after_help = "Example:\n  stages migrate . --script build.sh -o stages.toml")]
    Migrate(MigrateArgs),
    /// Build targets on the Docker Engine.
    #[command(
        after_help = "Example:\n  stages build\n  stages build --all\n  stages build app --build-arg VERSION=1.2 --progress plain\n  stages build --pull always --push"
    )]
    Build(BuildArgs),
    /// Build, and when a RUN fails open a shell in its state (`stages build --debug`).
    #[command(
        long_about = "Build like `stages build --debug`: when a RUN fails, open a shell in a \
                      container of the state just before the command (its image, environment, \
                      workdir, user and mounts), with the failed command ready to run again as \
                      /.stages-debug/failed.sh. Leaving the shell removes the container. Without \
                      a terminal, the state is kept as an image and the `docker run` command that \
                      opens it is printed; `stages cache prune` removes it. See docs/debug.md.",
        after_help = "Example:\n  stages debug\n  stages debug app --build-arg VERSION=1.2"
    )]
    Debug(BuildArgs),
    /// Pin the images, URLs and git refs stages.toml reads in stages.lock.
    #[command(
        long_about = "Write stages.lock next to stages.toml: for every external image the project \
                      reads, the digest its tag resolves to (asked of the registry, else the \
                      Engine's copy); for every `add` URL, the sha256 of what it serves; for every \
                      `add` git source, the commit its ref names. Entries already locked are kept; \
                      --update asks for all of them again, or for those named. `stages build` \
                      uses the lock; `stages build --locked` fails when it does not cover the build.",
        after_help = "Example:\n  stages lock\n  stages lock --update\n  stages lock --update alpine:3.20"
    )]
    Lock(LockArgs),
    /// Say why the last build's steps ran (or came from the cache), without building.
    #[command(
        long_about = "Say why the last build's steps ran (or came from the cache), without building.\n\n\
                      Every `stages build` with the native back end records, per step, what its \
                      cache key was made of; a step that did not come from the cache is \
                      explained by comparing with the build before: a file changed, added or \
                      removed, an ARG or ENV value, the base image, a stage it copies from, \
                      --no-cache, the step's text. `stages build --explain` prints the same as \
                      the steps run.",
        after_help = "Example:\n  stages why\n  stages why app"
    )]
    Why(WhyArgs),
    /// List or prune the images the step cache keeps.
    #[command(
        subcommand,
        after_help = "Example:\n  stages cache ls\n  stages cache prune --keep-storage 2GB\n  stages cache prune --all"
    )]
    Cache(CacheCommand),
    /// Remote BuildKit builders: what they offer.
    #[command(
        subcommand,
        after_help = "Example:\n  stages builders ls --builder tcp://10.0.0.5:1234"
    )]
    Builders(BuildersCommand),
}

/// Where stages.toml is: `-f`, else found in the current directory or a parent.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The config file [default: stages.toml in this directory or the nearest parent]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum MessageFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t)]
    pub message_format: MessageFormat,
    /// Also report what this build back end cannot express, in every stage.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Do not run lint's rules (see `stages lint`).
    #[arg(long)]
    pub no_lint: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LintFormat {
    #[default]
    Human,
    /// One JSON object per line, as `check --message-format json`.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// What `stages lint` and `stages dockerfile lint` share.
#[derive(Debug, Clone, Args)]
pub struct LintControlArgs {
    /// How findings are printed.
    #[arg(long, value_enum, default_value_t)]
    pub message_format: LintFormat,
    /// Rules not to run (BuildKit's names), comma-separated or repeated; `all` skips every rule.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Exit 1 when there is any warning, not only on errors.
    #[arg(long)]
    pub error_on_warning: bool,
    /// BuildKit's check setting as a build argument, `BUILDKIT_DOCKERFILE_CHECK=skip=A,B;error=true`: it replaces the file's `# check=` directive (or `[lint]`), as in `docker build`; the only build argument lint reads.
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    #[command(flatten)]
    pub engine: EngineArg,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub controls: LintControlArgs,
}

#[derive(Debug, Args)]
pub struct DockerfileLintArgs {
    /// The Dockerfile (`-` for standard input).
    pub file: PathBuf,
    #[command(flatten)]
    pub controls: LintControlArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GraphFormat {
    #[default]
    Text,
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Targets (or stages) whose part of the graph to show [default: the whole graph]
    #[arg(add = ArgValueCandidates::new(completion_names::targets_and_stages))]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long, value_enum, default_value_t)]
    pub format: GraphFormat,
    /// Read a `from` with variables as a build with this argument would (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Targets (or stages) to plan [default: the default target]
    #[arg(add = ArgValueCandidates::new(completion_names::targets_and_stages))]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Plan as a build with this argument would (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write stages.toml in.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Replace an existing stages.toml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
pub enum DockerfileCommand {
    /// Print BuildKit's dump of the parsed file.
    #[command(after_help = "Example:\n  stages dockerfile dump Dockerfile")]
    Dump(DockerfileFileArg),
    /// Show stages, bases, platforms, copies between stages and meta-ARGs.
    #[command(
        after_help = "Example:\n  stages dockerfile outline Dockerfile --target runtime --format json"
    )]
    Outline(OutlineArgs),
    /// Run BuildKit's build checks on a Dockerfile, at the lines BuildKit reports.
    #[command(
        after_help = "Example:\n  stages dockerfile lint Dockerfile\n  stages dockerfile lint Dockerfile --message-format json --skip StageNameCasing"
    )]
    Lint(DockerfileLintArgs),
    /// Rewrite the file in the canonical layout.
    #[command(after_help = "Example:\n  stages dockerfile fmt Dockerfile --check")]
    Fmt(FmtArgs),
}

#[derive(Debug, Args)]
pub struct DockerfileFileArg {
    /// The Dockerfile (`-` for standard input).
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutlineFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct OutlineArgs {
    /// The Dockerfile.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutlineFormat,
    /// Also show which stages building this target needs.
    #[arg(long)]
    pub target: Option<String>,
    /// Read a FROM with variables as a build with this argument would (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// The Dockerfile.
    pub file: PathBuf,
    /// Change nothing; exit 1 if the file is not in the canonical layout.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Targets (or stages) to export [default: every stage a target reaches]
    #[arg(add = ArgValueCandidates::new(completion_names::targets_and_stages))]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Where to write the Dockerfile (`-` for standard output).
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Write nothing; exit 1 and print a diff if the output file is stale.
    #[arg(long)]
    pub check: bool,
    /// Keep stages no target reaches.
    #[arg(long)]
    pub all_stages: bool,
    /// Replace an output file that was not generated by stages.
    #[arg(long)]
    pub force: bool,
    /// Name the images stages.lock covers by digest: `FROM image:tag@sha256:…`.
    #[arg(long)]
    pub locked: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Dockerfile to import (`-` for standard input).
    #[arg(default_value = "Dockerfile")]
    pub dockerfile: PathBuf,
    /// Where to write stages.toml (`-` for standard output).
    #[arg(short, long, value_name = "FILE", default_value = "stages.toml")]
    pub output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Keep `COPY --from=<stage>` as plain copies instead of named artifacts.
    #[arg(long)]
    pub no_artifacts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum EmitFormat {
    #[default]
    Toml,
    Dockerfile,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The directory holding the Dockerfiles and the build script.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The glue script (a shell script or Makefile) [default: build.sh, else Makefile]
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// The name of the image target.
    #[arg(long, value_name = "NAME")]
    pub target_name: Option<String>,
    /// Where to write the result (`-` for standard output).
    #[arg(short, long, value_name = "FILE", default_value = "stages.toml")]
    pub output: PathBuf,
    /// Write stages.toml or the equivalent multi-stage Dockerfile.
    #[arg(long, value_enum, default_value_t)]
    pub emit: EmitFormat,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Backend {
    /// The Engine's BuildKit when it offers one, else native.
    #[default]
    Auto,
    /// The Engine's embedded BuildKit, fed the exported Dockerfile through
    /// stages' own session: only the files COPY reads are sent.
    Buildkit,
    /// stages' own scheduler over Engine primitives: parallel, pruned, cached.
    Native,
    /// The Engine's own (classic) builder, fed the exported Dockerfile.
    Dockerfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Progress {
    /// A live view on a terminal; plain lines otherwise or when CI is set.
    #[default]
    Auto,
    /// A live view: one line per stage, redrawn as steps run.
    Tty,
    /// One `[stage] …` line per event, for logs and CI.
    Plain,
    /// One JSON object per event on standard output, for tools.
    Json,
    /// Only the ids of the images built, on standard output.
    Quiet,
}

/// How to reach the Docker Engine.
#[derive(Debug, Clone, Args)]
pub struct EngineArg {
    /// The Engine address (unix:///path, tcp://host:port) [default: DOCKER_HOST, else the Docker context]
    #[arg(short = 'H', long, value_name = "ADDRESS")]
    pub host: Option<String>,
    /// The Docker context whose Engine to use [default: DOCKER_CONTEXT, else the current context]
    #[arg(long, value_name = "NAME", conflicts_with = "host")]
    pub context: Option<String>,
}

/// When to pull the images a build reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PullMode {
    /// Pull the images the Engine does not have.
    #[default]
    Missing,
    /// Ask the registry for every image again (only changed layers move).
    Always,
    /// Pull nothing; fail before building if an image is missing.
    Never,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Targets (or stages) to build [default: the default target]
    #[arg(add = ArgValueCandidates::new(completion_names::targets_and_stages))]
    pub targets: Vec<String>,
    /// Build every target of the project, in file order.
    #[arg(long, conflicts_with = "targets")]
    pub all: bool,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub engine: EngineArg,
    /// Which builder runs the steps.
    #[arg(long, value_enum, default_value_t, env = "STAGES_BACKEND")]
    pub backend: Backend,
    /// Set a build argument (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Run every step, using no cached result.
    #[arg(long)]
    pub no_cache: bool,
    /// Say why each step that did not come from the cache ran, compared with the last build (see `stages why`).
    #[arg(long)]
    pub explain: bool,
    /// When a RUN fails, open a shell in its state (the native back end runs the build; see docs/debug.md).
    #[arg(long, conflicts_with_all = ["push", "verify_reproducible"])]
    pub debug: bool,
    /// Run every step of this stage, using no cached result (repeatable).
    #[arg(long, value_name = "STAGE", add = ArgValueCandidates::new(completion_names::stages))]
    pub no_cache_filter: Vec<String>,
    /// How progress is shown.
    #[arg(long, value_enum, default_value_t)]
    pub progress: Progress,
    /// How many stages run at once [default: twice the number of CPUs]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// After a failure, let independent stages finish.
    #[arg(long)]
    pub keep_going: bool,
    /// A secret for RUN --mount=type=secret: id=ID,src=PATH (repeatable).
    #[arg(long, value_name = "id=ID,src=PATH")]
    pub secret: Vec<String>,
    /// Export artifact target TARGET into DIR instead of its `output`;
    /// DIR may be anywhere, relative to the current directory (repeatable).
    #[arg(long = "output", value_name = "TARGET=DIR")]
    pub outputs: Vec<String>,
    /// When to pull the images the build reads, before its first step.
    #[arg(long, value_enum, default_value_t)]
    pub pull: PullMode,
    /// Push every tag of every image target once all targets are built.
    #[arg(long)]
    pub push: bool,
    /// Fail before building when stages.lock does not cover, or covers differently, what the build reads.
    #[arg(long)]
    pub locked: bool,
    /// Give up on a pull or push after this many seconds without progress.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub registry_timeout: u64,
    /// After the build, remove this project's least recently used cached steps beyond this size (e.g. 500MB, 2GB, or `none`) [default: 5GB]
    #[arg(long, value_name = "SIZE", env = "STAGES_CACHE_MAX")]
    pub cache_max: Option<String>,
    /// Write the build report (stage times, critical path, cache hits,
    /// sizes) to FILE.json, or FILE.html for a page with a timeline.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Replace the --report file even if it is not a report of stages.
    #[arg(long, requires = "report")]
    pub force: bool,
    /// Build reproducibly: SOURCE_DATE_EPOCH, when not set, is the time of the last git commit.
    #[arg(long)]
    pub reproducible: bool,
    /// Build twice with no cache and compare the image ids; on a difference name the layer and the files.
    #[arg(long, conflicts_with = "push")]
    pub verify_reproducible: bool,
    #[command(flatten)]
    pub remote: RemoteBuilderArgs,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// With --update: only these entries (image references as stages.toml reads them, URLs, git sources) [default: all]
    #[arg(value_name = "NAME", requires = "update")]
    pub entries: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub engine: EngineArg,
    /// Ask again for the entries already locked and print what moved.
    #[arg(long)]
    pub update: bool,
    /// Replace a stages.lock that cannot be read or was not written by `stages lock`.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// Only the stages this target (or stage) needs [default: every stage the last build built]
    #[arg(add = ArgValueCandidates::new(completion_names::targets_and_stages))]
    pub target: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// How the reasons are printed (json: a line per step, like `build --progress json`'s `explained` events).
    #[arg(long, value_enum, default_value_t)]
    pub message_format: MessageFormat,
}

/// Remote BuildKit builders (see docs/builders.md).
#[derive(Debug, Clone, Args, Default)]
pub struct RemoteBuilderArgs {
    /// Build on this BuildKit daemon (tcp://HOST:PORT, unix:///PATH, docker-container://NAME) instead of the Engine; repeat to spread targets over several
    #[arg(long = "builder", value_name = "ADDRESS", env = "BUILDKIT_HOST")]
    pub builders: Vec<String>,
    #[command(flatten)]
    pub tls: BuilderTlsArgs,
    /// Export the build cache for other builders: type=registry,ref=REF[,mode=max] (repeatable; with --builder)
    #[arg(long, value_name = "type=registry,ref=REF")]
    pub cache_to: Vec<String>,
    /// Import build cache: type=registry,ref=REF (repeatable; with --builder)
    #[arg(long, value_name = "type=registry,ref=REF")]
    pub cache_from: Vec<String>,
}

/// TLS files for tcp:// builders.
#[derive(Debug, Clone, Args, Default)]
pub struct BuilderTlsArgs {
    /// The CA certificate that signed the builders' certificates (PEM)
    #[arg(long = "builder-tls-ca", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The client certificate for the builders (PEM)
    #[arg(long = "builder-tls-cert", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The client certificate's key (PEM)
    #[arg(long = "builder-tls-key", value_name = "FILE")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BuildersCommand {
    /// Each builder's address, whether it answers, its workers and their platforms.
    #[command(
        after_help = "Example:\n  stages builders ls --builder tcp://10.0.0.5:1234 --builder unix:///run/buildkit/buildkitd.sock"
    )]
    Ls(BuildersLsArgs),
}

#[derive(Debug, Args)]
pub struct BuildersLsArgs {
    /// A builder to ask (repeatable) [default: stages.toml's `[project] builder`]
    #[arg(long = "builder", value_name = "ADDRESS", env = "BUILDKIT_HOST")]
    pub builders: Vec<String>,
    #[command(flatten)]
    pub tls: BuilderTlsArgs,
    /// The Engine that runs `docker-container://` builders.
    #[command(flatten)]
    pub engine: EngineArg,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List this project's cached steps (every project's with --all).
    #[command(after_help = "Example:\n  stages cache ls\n  stages cache ls --all")]
    Ls(CacheLsArgs),
    /// Remove this project's cached steps (every project's with --all), least recently used first, down to a size; and what killed builds left.
    #[command(
        after_help = "Example:\n  stages cache prune --keep-storage 2GB\n  stages cache prune --all"
    )]
    Prune(CachePruneArgs),
}

#[derive(Debug, Args)]
pub struct CacheLsArgs {
    #[command(flatten)]
    pub engine: EngineArg,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Every project's cached steps, not only this project's.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CachePruneArgs {
    #[command(flatten)]
    pub engine: EngineArg,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Prune every project's cached steps, not only this project's.
    #[arg(long)]
    pub all: bool,
    /// Keep this much of the most recently used cache (e.g. 500MB, 2GB) [default: remove all]
    #[arg(long, value_name = "SIZE")]
    pub keep_storage: Option<String>,
}
