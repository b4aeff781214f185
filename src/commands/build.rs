//! `stages build`: load and check stages.toml, resolve the targets, connect
//! to the Engine and build them with the chosen back end. Ctrl-C stops the
//! build, removes the containers it created and exits 130; a failed build
//! also leaves no container behind. Tags move only when a build succeeded.
//! A build holds a lock in the project's state directory while it runs; it first removes
//! what killed builds of the project left, and a native build ends by
//! keeping the project's step cache within its bound (`--cache-max`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, miette};

use super::Exit;
use super::build_report::{BuildFacts, ReportFile, build_report};
use super::common::{
    LoadedProject, load_project, print_diagnostics, resolve, root_stages,
    warn_unconsumed_build_args,
};
use super::locked_build::{UsedLock, apply_lock, check_urls};
use super::source_date::{Origin, SourceDate};
use super::verify_reproducible::compare_builds;
use crate::cli::{Backend, BuildArgs, Progress, PullMode};
use crate::config::model::{Project, TargetKind};
use crate::diagnostics::did_you_mean;
use crate::diagnostics::render_json;
use crate::engine::backend::BuildFailure;
use crate::engine::backend::dockerfile::DockerfileBackend;
use crate::engine::build_lock::BuildLock;
use crate::engine::build_summary::{BuildSummary, Summarising};
use crate::engine::buildkit::backend::{BuildKitBackend, BuildKitSettings};
use crate::engine::buildkit::probe::{buildkit_available, engine_facts};
use crate::engine::client::DockerEngine;
use crate::engine::connection::EngineAddress;
use crate::engine::image_labels::rfc3339_millis;
use crate::engine::interrupt::{Interrupt, Janitor};
use crate::engine::leftovers::{staging_parents, sweep_dead_builds};
use crate::engine::native::backend::{NativeBackend, NativeSettings};
use crate::engine::native::cache_admin::{human_size, parse_storage_size};
use crate::engine::native::cache_gc::{DEFAULT_CACHE_MAX, keep_bound};
use crate::engine::progress::{Event, ProgressMode, ProgressSink, Reporter};
use crate::engine::project_state::ProjectState;
use crate::engine::registry::credentials::{DockerConfig, config_dir};
use crate::engine::registry::pull::{PullPolicy, PullSettings, needed_images, pull_needed};
use crate::engine::registry::push::{TagToPush, push_tags};
use crate::engine::report::model::{BuildReport, seconds as report_seconds};
use crate::engine::report::timeline::Timeline;
use crate::engine::report::{Timing, text as report_text};
use crate::engine::targets::{BuildSettings, TargetOutcome, build_targets};
use crate::graph::{ResolvedKind, ResolvedTarget};

/// How long an interrupted build may take to reach a safe stopping point.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

pub fn run(mut args: BuildArgs) -> miette::Result<Exit> {
    super::debug_shell::use_native_backend(&mut args)?;
    refuse_unsupported_options(&args)?;
    let mut native_settings = native_settings(&args)?;
    let cache_max = parse_cache_max(args.cache_max.as_deref())?;
    let build_args = parse_build_args(&args.build_args, |key| std::env::var(key).ok())?;
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let names = if args.all {
        every_target(&loaded.project)
    } else {
        args.targets.clone()
    };
    let targets = match resolve(&loaded, &names) {
        Ok(targets) => targets,
        Err(exit) => return Ok(exit),
    };
    let source_date = super::source_date::source_date(
        std::env::var("SOURCE_DATE_EPOCH").ok().as_deref(),
        args.reproducible || args.verify_reproducible || loaded.project.reproducible,
        &loaded.dir,
    )?;
    if let Some(date) = &source_date {
        say_source_date(date, args.backend);
    }
    native_settings.source_date_epoch = source_date.map(|date| date.epoch);
    warn_unconsumed_build_args(&loaded.with_build_args(&build_args), &targets, &build_args);
    if super::build_remote::wants_builders(&args, &loaded) {
        return super::build_remote::run(&args, &loaded, &targets, &build_args);
    }
    super::build_remote::refuse_remote_options(&args)?;
    // What the back end cannot honour is refused before the Engine is
    // asked anything (a stage's platform would otherwise fail its pull).
    let with_args = loaded.with_build_args(&build_args);
    let refused = refused_by_backend(&with_args, &targets, args.backend);
    // `auto` is not held to what BuildKit cannot express when native can.
    let native_would_do = args.backend == Backend::Auto
        && refused_by_backend(&with_args, &targets, Backend::Native).is_empty();
    if !refused.is_empty() && !native_would_do {
        print_diagnostics(&loaded.file, &refused);
        return Ok(Exit::Failure);
    }
    if args.push {
        refuse_push_without_tags(&targets)?;
    }
    let (loaded, used_lock) = match apply_lock(&loaded, &targets, &build_args, args.locked) {
        Ok(applied) => applied,
        Err(exit) => return Ok(exit),
    };
    let current_dir = std::env::current_dir().into_diagnostic()?;
    let outputs = parse_outputs(&args.outputs, &loaded.project, &current_dir)?;
    let report_file = args
        .report
        .as_deref()
        .map(|path| ReportFile::check(path, args.force))
        .transpose()?;
    let state = ProjectState::for_config_dir(&loaded.dir)
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("cannot resolve {}", loaded.dir.display())))?;
    native_settings.project_id = state.id().to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let project = ThisProject {
        loaded: &loaded,
        state: &state,
        cache_max,
        outputs: &outputs,
        lock: used_lock.as_ref(),
        report_file: report_file.as_ref(),
        built: std::sync::Mutex::default(),
    };
    runtime.block_on(build(
        &args,
        &project,
        &targets,
        &build_args,
        native_settings,
    ))
}

/// The project being built and what it keeps between builds.
struct ThisProject<'a> {
    loaded: &'a LoadedProject,
    state: &'a ProjectState,
    /// The step cache's bound in bytes; `None` for no bound.
    cache_max: Option<u64>,
    /// Artifact targets exported where `--output` says instead of their `output`.
    outputs: &'a BTreeMap<String, PathBuf>,
    /// stages.lock, when the build uses one.
    lock: Option<&'a UsedLock>,
    /// Where `--report` writes the build report.
    report_file: Option<&'a ReportFile>,
    /// What the last successful build made (`--verify-reproducible` compares two).
    built: std::sync::Mutex<Vec<TargetOutcome>>,
}

/// Says where the build's `SOURCE_DATE_EPOCH` comes from, and that the
/// classic builder does not honour it.
fn say_source_date(date: &SourceDate, backend: Backend) {
    let origin = match date.origin {
        Origin::Environment => "from the environment",
        Origin::GitCommit => "the last git commit's time",
    };
    eprintln!("SOURCE_DATE_EPOCH={} ({origin})", date.epoch);
    if backend == Backend::Dockerfile {
        eprintln!(
            "warning: the classic builder stamps its images with the time of the build: they cannot be reproduced (see docs/reproducible.md)"
        );
    }
}

/// `--verify-reproducible`: the build, then the same build with no cache,
/// and the image targets of the two compared.
#[allow(clippy::too_many_arguments)]
async fn verify_twice(
    args: &BuildArgs,
    here: &ThisProject<'_>,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
    native_settings: NativeSettings,
    engine: &DockerEngine,
    janitor: &Janitor,
) -> miette::Result<Exit> {
    let mut builds = Vec::new();
    for round in ["first", "second"] {
        eprintln!("verify-reproducible: the {round} build, with no cache");
        let exit = build_with_lock(
            args,
            here,
            targets,
            build_args,
            native_settings.clone(),
            engine,
            janitor,
        )
        .await?;
        if exit != Exit::Success {
            return Ok(exit);
        }
        let mut built = here
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        builds.push(std::mem::take(&mut *built));
    }
    let same = compare_builds(engine, &builds[0], &builds[1], here.state.id()).await;
    Ok(if same { Exit::Success } else { Exit::Failure })
}

/// `--cache-max` / `STAGES_CACHE_MAX`: a size, or `none` for no bound.
fn parse_cache_max(text: Option<&str>) -> miette::Result<Option<u64>> {
    match text.map(str::trim) {
        None | Some("") => Ok(Some(DEFAULT_CACHE_MAX)),
        Some("none" | "unlimited") => Ok(None),
        Some(text) => parse_storage_size(text).map(Some).ok_or_else(|| {
            miette!(
                help = "write a size such as 500MB or 2GB, or `none` for no bound",
                "--cache-max: `{text}` is not a size"
            )
        }),
    }
}

/// `--jobs`, `--keep-going`, `--no-cache-filter` and `--secret` for the native back end.
fn native_settings(args: &BuildArgs) -> miette::Result<NativeSettings> {
    let mut secrets = BTreeMap::new();
    for spec in &args.secret {
        let (id, path) = parse_secret(spec)?;
        secrets.insert(id, path);
    }
    Ok(NativeSettings {
        project_id: String::new(),
        jobs: args.jobs,
        keep_going: args.keep_going,
        no_cache_stages: args.no_cache_filter.clone(),
        secrets,
        source_date_epoch: None,
        debug: args.debug,
    })
}

/// `id=ID,src=PATH` (also `source=`); the file must exist.
pub fn parse_secret(spec: &str) -> miette::Result<(String, std::path::PathBuf)> {
    let mut id = None;
    let mut src = None;
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("id", value)) => id = Some(value.to_owned()),
            Some(("src" | "source", value)) => src = Some(std::path::PathBuf::from(value)),
            _ => {
                return Err(miette!(
                    help = "write --secret id=ID,src=PATH",
                    "`{spec}` is not a secret"
                ));
            }
        }
    }
    let (Some(id), Some(src)) = (id, src) else {
        return Err(miette!(
            help = "write --secret id=ID,src=PATH",
            "`{spec}` needs both id and src"
        ));
    };
    if !src.is_file() {
        return Err(miette!(
            "secret `{id}`: {} is not a readable file",
            src.display()
        ));
    }
    Ok((id, src))
}

async fn build(
    args: &BuildArgs,
    here: &ThisProject<'_>,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
    native_settings: NativeSettings,
) -> miette::Result<Exit> {
    let address =
        EngineAddress::resolve_with(args.engine.host.as_deref(), args.engine.context.as_deref())?;
    let engine = address.connect().await?;
    if super::output::settings().verbose {
        eprintln!(
            "building {} with {} on the Engine at {}",
            targets
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            backend_name(args.backend),
            engine.address()
        );
    }
    let janitor = Janitor::new();
    // Taken before anything is created, so that no other build takes this
    // one's containers for a dead build's.
    let lock = match BuildLock::acquire(here.state, janitor.build_id()) {
        Ok(lock) => Some(lock),
        Err(error) => {
            eprintln!(
                "warning: cannot write {}: {error} (were this build killed, its leftovers would not be found)",
                here.state.dir().join("builds").display()
            );
            None
        }
    };
    let loaded = here.loaded;
    let leftovers = sweep_dead_builds(
        &engine,
        here.state,
        &staging_parents(&loaded.dir, &loaded.project),
        janitor.build_id(),
    )
    .await;
    for error in &leftovers.errors {
        eprintln!("warning: {error}");
    }
    if !leftovers.dead_builds.is_empty() {
        eprintln!("{}", leftovers.summary());
    }
    let exit = if args.verify_reproducible {
        verify_twice(
            args,
            here,
            targets,
            build_args,
            native_settings,
            &engine,
            &janitor,
        )
        .await
    } else {
        build_with_lock(
            args,
            here,
            targets,
            build_args,
            native_settings,
            &engine,
            &janitor,
        )
        .await
    };
    if let Some(lock) = lock {
        lock.release();
    }
    exit
}

async fn build_with_lock(
    args: &BuildArgs,
    here: &ThisProject<'_>,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
    native_settings: NativeSettings,
    engine: &DockerEngine,
    janitor: &Janitor,
) -> miette::Result<Exit> {
    let started = std::time::Instant::now();
    let mut timeline = Timeline::new(std::time::SystemTime::now());
    let loaded = here.loaded;
    let engine = engine.clone();
    let janitor = janitor.clone();
    // Like the docker CLI: a configuration that cannot be read is a
    // warning, and registries are used without credentials.
    let docker_config = DockerConfig::load().unwrap_or_else(|error| {
        eprintln!("warning: {error}; registries are used without credentials");
        DockerConfig::empty_at(config_dir(&|key| std::env::var(key).ok()).join("config.json"))
    });
    if let Err(problems) = check_urls(here.lock).await {
        eprintln!("error: what an add downloads differs from stages.lock; nothing was built:");
        for problem in &problems {
            eprintln!("  {problem}");
        }
        eprintln!("  help: if the change is expected, run `stages lock --update URL`");
        return Ok(Exit::Failure);
    }
    // Said before the progress view starts drawing, so it is its first line.
    let buildkit_refuses = refused_by_backend(loaded, targets, Backend::Buildkit)
        .into_iter()
        .next()
        .map(|refusal| refusal.message);
    let backend = choose_backend(args, &engine, buildkit_refuses).await;
    let mut reporter = Reporter::new(progress_mode(args.progress));
    reporter.set_explain(args.explain);
    let registry_timeout = std::time::Duration::from_secs(args.registry_timeout.max(1));
    let images = needed_images(&loaded.project, targets, build_args);
    let pull_settings = PullSettings {
        policy: match args.pull {
            PullMode::Missing => PullPolicy::Missing,
            PullMode::Always => PullPolicy::Always,
            PullMode::Never => PullPolicy::Never,
        },
        config: &docker_config,
        idle: registry_timeout,
    };
    if let Err(error) = pull_needed(&engine, &images, &pull_settings, &mut reporter).await {
        reporter.finish();
        return Err(miette::Report::new(error));
    }
    let context_dir = loaded.context_dir();
    let settings = BuildSettings {
        project: &loaded.project,
        graph: &loaded.graph,
        config_dir: &loaded.dir,
        output_overrides: here.outputs,
        context_dir: &context_dir,
        build_args,
        no_cache: args.no_cache || args.verify_reproducible,
    };
    let (interrupt, trigger) = Interrupt::new();
    let recorder =
        super::build_explain::recorder(here.state, &context_dir, targets, args.no_cache, backend);
    if args.explain && !super::build_explain::records(backend) {
        eprintln!("warning: --explain: the classic builder's steps are not recorded");
    }
    let buildkit = BuildKitBackend::new(
        &engine,
        BuildKitSettings {
            secrets: native_settings.secrets.clone(),
            docker_config: docker_config.clone(),
            source_date_epoch: native_settings.source_date_epoch,
            records_dir: Some(here.state.dir().join("buildkit")),
        },
    )
    .recording(std::sync::Arc::clone(&recorder));
    let dockerfile = DockerfileBackend::new(&engine);
    let native =
        NativeBackend::new(&engine, native_settings).recording(std::sync::Arc::clone(&recorder));
    let mut summary = BuildSummary::new(targets.iter().map(|t| t.name.as_str()));
    let outcome = {
        let mut timing = Timing {
            view: &mut reporter,
            timeline: &mut timeline,
            started,
        };
        let mut reporter = Summarising {
            view: &mut timing,
            summary: &mut summary,
        };
        let build = async {
            match backend {
                Backend::Buildkit => {
                    build_targets(
                        &engine,
                        &buildkit,
                        &settings,
                        targets,
                        &mut reporter,
                        &janitor,
                        &interrupt,
                    )
                    .await
                }
                Backend::Dockerfile => {
                    build_targets(
                        &engine,
                        &dockerfile,
                        &settings,
                        targets,
                        &mut reporter,
                        &janitor,
                        &interrupt,
                    )
                    .await
                }
                Backend::Native | Backend::Auto => {
                    build_targets(
                        &engine,
                        &native,
                        &settings,
                        targets,
                        &mut reporter,
                        &janitor,
                        &interrupt,
                    )
                    .await
                }
            }
        };
        tokio::pin!(build);
        tokio::select! {
            outcome = &mut build => outcome,
            _ = tokio::signal::ctrl_c() => {
                trigger.fire();
                // The build stops at its next safe point; past the grace period
                // it is dropped, which closes the connection to the Engine.
                tokio::time::timeout(STOP_GRACE, &mut build)
                    .await
                    .unwrap_or(Err(BuildFailure::Interrupted))
            }
        }
    };
    engine.count_sent(usize::try_from(buildkit.bytes_served()).unwrap_or(usize::MAX));
    if super::build_explain::records(backend) && !matches!(outcome, Err(BuildFailure::Interrupted))
    {
        super::build_explain::save(here.state, &recorder);
    }
    if backend == Backend::Buildkit {
        summary.count_solves(buildkit.solves());
        if outcome.is_ok()
            && let Err(error) = buildkit.record_solves()
        {
            eprintln!(
                "warning: cannot record this build's solves in {}: {error} (the next build solves again)",
                here.state.dir().join("buildkit").display()
            );
        }
    }
    if outcome.is_ok() {
        let sent = Event::Sent {
            bytes: engine.bytes_sent(),
        };
        timeline.observe(&sent, started.elapsed());
        reporter.event(sent);
    }
    if backend == Backend::Native && matches!(outcome, Ok(_) | Err(BuildFailure::Reported(_))) {
        keep_cache_bound(&engine, here, janitor.build_id(), &native).await;
    }
    let finished = outcome.is_ok();
    timeline.close_all(started.elapsed());
    let report = build_report(
        &engine,
        &timeline,
        &BuildFacts {
            backend: backend_key(backend),
            graph: &loaded.graph,
            targets,
            summary: &summary,
            wall: started.elapsed(),
            finished,
        },
    )
    .await;
    let (report_written, report_error) = match here.report_file {
        Some(file) if !matches!(outcome, Err(BuildFailure::Interrupted)) => {
            write_report(file, &report, finished)
        }
        _ => (None, None),
    };
    let show_summary = |reporter: &Reporter| {
        print_summary(
            reporter.mode(),
            &summary,
            &report,
            started.elapsed(),
            finished,
        );
        // Last, under the summary it writes out, where it is seen.
        if let Some(path) = report_written
            && !matches!(reporter.mode(), ProgressMode::Quiet | ProgressMode::Json)
        {
            eprintln!("report: wrote {}", path.display());
        }
    };
    let exit = match outcome {
        Ok(outcomes) if args.push => {
            let tags = tags_to_push(&outcomes);
            let pushed = push_tags(
                &engine,
                &tags,
                &docker_config,
                registry_timeout,
                &mut reporter,
            )
            .await;
            reporter.finish();
            show_summary(&reporter);
            if let Some(error) = report_error {
                if matches!(&pushed, Ok(pushed) if pushed.failed.is_none()) {
                    return Err(error);
                }
                // The push's failure is the one the exit reports.
                eprintln!("{error:?}");
            }
            return match pushed {
                Ok(report) => match report.failed {
                    None => Ok(Exit::Success),
                    Some(error) => {
                        eprintln!(
                            "pushed {} of {} tags; every tag stays on the Engine as built",
                            report.pushed.len(),
                            tags.len()
                        );
                        Err(miette::Report::new(error))
                    }
                },
                Err(error) => {
                    eprintln!("nothing was pushed; every tag stays on the Engine as built");
                    Err(miette::Report::new(error))
                }
            };
        }
        Ok(outcomes) => {
            reporter.finish();
            show_summary(&reporter);
            *here
                .built
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = outcomes;
            return match report_error {
                Some(error) => Err(error),
                None => Ok(Exit::Success),
            };
        }
        Err(BuildFailure::Interrupted) => {
            reporter.finish();
            eprintln!("interrupted: the build stopped; removing its containers");
            Exit::Interrupted
        }
        Err(BuildFailure::Reported(diagnostics)) => {
            reporter.finish();
            if reporter.mode() == ProgressMode::Json {
                print!("{}", render_json(&loaded.file, &diagnostics));
            } else {
                print_diagnostics(&loaded.file, &diagnostics);
            }
            show_summary(&reporter);
            if args.debug {
                super::debug_shell::after_failure(&engine, native.take_failed_run()).await
            } else {
                Exit::Failure
            }
        }
        Err(BuildFailure::Engine(error)) => {
            reporter.finish();
            show_summary(&reporter);
            sweep(&engine, &janitor).await;
            return Err(miette::Report::from_err(error).wrap_err(format!(
                "the build stopped: the Engine at {} failed",
                engine.address()
            )));
        }
        Err(BuildFailure::Context(error)) => {
            reporter.finish();
            show_summary(&reporter);
            sweep(&engine, &janitor).await;
            return Err(miette::Report::from_err(error));
        }
    };
    sweep(&engine, &janitor).await;
    Ok(exit)
}

/// Every tag of every image target, in target order.
fn tags_to_push(outcomes: &[TargetOutcome]) -> Vec<TagToPush> {
    outcomes
        .iter()
        .flat_map(|outcome| match outcome {
            TargetOutcome::Image { target, tags, .. } => tags
                .iter()
                .map(|tag| TagToPush {
                    target: target.clone(),
                    tag: tag.clone(),
                })
                .collect(),
            TargetOutcome::Artifacts { .. } => Vec::new(),
        })
        .collect()
}

/// `--all`: every target in file order; a project without `[targets]`
/// has only its default target.
fn every_target(project: &Project) -> Vec<String> {
    project
        .targets
        .iter()
        .map(|target| target.name.value.clone())
        .collect()
}

/// `--push` needs a tag to push; found out before anything is built.
fn refuse_push_without_tags(targets: &[ResolvedTarget]) -> miette::Result<()> {
    let tagged = targets
        .iter()
        .any(|target| matches!(&target.kind, ResolvedKind::Image { tags, .. } if !tags.is_empty()));
    if tagged {
        return Ok(());
    }
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    Err(miette!(
        code = "stages::registry::nothing-to-push",
        help = "give an image target `tags = [\"registry/name:tag\"]`, or build without --push",
        "--push: no target of this build has a tag to push ({})",
        names.join(", ")
    ))
}

/// Records the cache entries the build used and removes the project's
/// least recently used ones beyond the bound; says what went.
async fn keep_cache_bound(
    engine: &DockerEngine,
    here: &ThisProject<'_>,
    build_id: &str,
    native: &NativeBackend<'_>,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let used = native.used_keys();
    match keep_bound(engine, here.state, build_id, &used, here.cache_max, now).await {
        Ok(outcome) => {
            for warning in &outcome.warnings {
                eprintln!("warning: {warning}");
            }
            let removed = &outcome.removed;
            if !removed.removed.is_empty() {
                eprintln!(
                    "cache: removed {} least recently used steps ({}) to keep this project's cache within {}",
                    removed.removed.len(),
                    human_size(removed.freed() as i64),
                    human_size(here.cache_max.unwrap_or_default() as i64),
                );
            }
            for (entry, reason) in &removed.kept {
                eprintln!("warning: cache: kept {}: {reason}", entry.id);
            }
        }
        Err(error) => eprintln!("warning: cache: cannot keep the bound: {error}"),
    }
}

/// The end-of-build summary: on standard error for people, as one JSON
/// object with `--progress json`; nothing with `--progress quiet`.
fn print_summary(
    mode: ProgressMode,
    summary: &BuildSummary,
    report: &BuildReport,
    elapsed: std::time::Duration,
    finished: bool,
) {
    match mode {
        ProgressMode::Quiet => {}
        ProgressMode::Json => {
            let mut line = summary.json(elapsed, finished);
            line["report"] = serde_json::to_value(report).unwrap_or_default();
            // Timed like every other event.
            line["time"] = rfc3339_millis(std::time::SystemTime::now()).into();
            line["elapsed"] = report_seconds(elapsed).into();
            println!("{line}");
        }
        ProgressMode::Tty | ProgressMode::Plain => {
            let here = std::env::current_dir().unwrap_or_default();
            eprint!("{}", summary.render(elapsed, finished, &here));
            eprint!("{}", report_text::render(report));
        }
    }
}

/// Writes the `--report` file; returns where, once written (the summary
/// says so). A build that failed says why it could not be written here,
/// and still exits for its failure; a build that succeeded returns the
/// error, to exit with it.
fn write_report<'a>(
    file: &'a ReportFile,
    report: &BuildReport,
    finished: bool,
) -> (Option<&'a std::path::Path>, Option<miette::Report>) {
    match file.write(report) {
        Ok(()) => (Some(file.path()), None),
        Err(error) if !finished => {
            eprintln!("{error:?}");
            (None, None)
        }
        Err(error) => (None, Some(error)),
    }
}

/// The back end's name in the report.
fn backend_key(backend: Backend) -> &'static str {
    match backend {
        Backend::Buildkit => "buildkit",
        Backend::Dockerfile => "dockerfile",
        Backend::Native | Backend::Auto => "native",
    }
}

/// Removes the build's containers; what cannot be removed is named.
async fn sweep(engine: &DockerEngine, janitor: &Janitor) {
    for error in janitor.sweep(engine).await {
        eprintln!("warning: {error} (remove it with `docker rm -f`)");
    }
}

/// `--progress`; left at `auto`, `-q` means `quiet` and `-v` `plain`.
fn progress_mode(requested: Progress) -> ProgressMode {
    let output = super::output::settings();
    match requested {
        Progress::Auto if output.quiet => ProgressMode::Quiet,
        Progress::Auto if output.verbose => ProgressMode::Plain,
        Progress::Auto => ProgressMode::auto(),
        Progress::Tty => ProgressMode::Tty,
        Progress::Plain => ProgressMode::Plain,
        Progress::Json => ProgressMode::Json,
        Progress::Quiet => ProgressMode::Quiet,
    }
}

/// What `backend` cannot express in the stages the targets need, as
/// `check --backend` reports it.
fn refused_by_backend(
    loaded: &LoadedProject,
    targets: &[ResolvedTarget],
    backend: Backend,
) -> Vec<crate::diagnostics::Diagnostic> {
    let stages = loaded.graph.needed_stages(&root_stages(targets));
    crate::check::unsupported_features(&loaded.project, backend.into(), &stages)
}

/// `auto`: BuildKit when the Engine offers it (and neither the options nor
/// the stages ask for what only native does), else native; the choice is
/// said on stderr.
async fn choose_backend(
    args: &BuildArgs,
    engine: &DockerEngine,
    buildkit_refuses: Option<String>,
) -> Backend {
    if args.backend != Backend::Auto {
        return args.backend;
    }
    let why_not = if let Some(refusal) = buildkit_refuses {
        Some(refusal)
    } else if args.no_cache_filter.is_empty() {
        buildkit_available(&engine_facts(engine)).err()
    } else {
        Some("--no-cache-filter needs the native back end".to_owned())
    };
    match why_not {
        None => {
            eprintln!("backend: buildkit (auto: the Engine offers BuildKit)");
            Backend::Buildkit
        }
        Some(reason) => {
            eprintln!("backend: native (auto: {reason})");
            Backend::Native
        }
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Native => "the native builder",
        Backend::Dockerfile => "the classic builder",
        Backend::Buildkit => "the Engine's BuildKit",
        Backend::Auto => "the back end the Engine suits best",
    }
}

/// Options a back end cannot honour are refused, not ignored.
fn refuse_unsupported_options(args: &BuildArgs) -> miette::Result<()> {
    if args.backend == Backend::Buildkit && !args.no_cache_filter.is_empty() {
        return Err(miette!(
            help = "use --no-cache to rebuild every step, or --backend native",
            "--no-cache-filter is not supported by --backend buildkit"
        ));
    }
    if args.backend != Backend::Dockerfile {
        return Ok(());
    }
    if !args.secret.is_empty() {
        return Err(miette!(
            help = "the classic builder has no build secrets; drop --secret",
            "--secret is not supported by --backend dockerfile"
        ));
    }
    if !args.no_cache_filter.is_empty() {
        return Err(miette!(
            help = "use --no-cache to rebuild every step",
            "--no-cache-filter is not supported by --backend dockerfile"
        ));
    }
    Ok(())
}

/// `--output TARGET=DIR`: each TARGET an artifact target of the project,
/// named once; DIR made absolute from `current_dir`.
pub fn parse_outputs(
    raw: &[String],
    project: &Project,
    current_dir: &Path,
) -> miette::Result<BTreeMap<String, PathBuf>> {
    let artifact_targets: Vec<&str> = project
        .targets
        .iter()
        .filter(|t| matches!(t.kind, TargetKind::Artifacts { .. }))
        .map(|t| t.name.value.as_str())
        .collect();
    let mut outputs = BTreeMap::new();
    for item in raw {
        let Some((name, dir)) = item
            .split_once('=')
            .filter(|(n, d)| !n.is_empty() && !d.is_empty())
        else {
            return Err(miette!(
                help = "write --output TARGET=DIR",
                "`{item}` is not an output directory for a target"
            ));
        };
        if !artifact_targets.contains(&name) {
            let kind = if project.target(name).is_some() {
                "an image target; only artifact targets have an output directory"
            } else {
                "not a target of this project"
            };
            let help = match did_you_mean(name, artifact_targets.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None if artifact_targets.is_empty() => {
                    "this project has no artifact target".to_owned()
                }
                None => format!("artifact targets: {}", artifact_targets.join(", ")),
            };
            return Err(miette!(help = help, "--output {item}: `{name}` is {kind}"));
        }
        if outputs
            .insert(name.to_owned(), current_dir.join(dir))
            .is_some()
        {
            return Err(miette!(
                help = "give one --output per target",
                "--output names target `{name}` twice"
            ));
        }
    }
    Ok(outputs)
}

/// `KEY=VALUE`, or `KEY` alone to take the value from the environment
/// (skipped when unset), like `docker build --build-arg`.
pub fn parse_build_args(
    raw: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> miette::Result<BTreeMap<String, String>> {
    let mut args = BTreeMap::new();
    for item in raw {
        let (key, value) = match item.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (item.as_str(), env(item)),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(miette!(
                help = "write --build-arg KEY=VALUE",
                "`{item}` is not a build argument"
            ));
        }
        if let Some(value) = value {
            args.insert(key.to_owned(), value);
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_CACHE_MAX, parse_build_args, parse_cache_max, parse_outputs};
    use crate::diagnostics::SourceFile;
    use std::path::{Path, PathBuf};

    #[test]
    fn outputs_name_artifact_targets_and_are_taken_from_the_current_directory() {
        let text = r#"
[stages.build]
from = "busybox:stages-test"
[artifacts.app]
stage = "build"
path = "/app"
[targets.dist]
artifacts = ["app"]
output = "dist/"
[targets.image]
stage = "build"
"#;
        let project = crate::check::check(&SourceFile::new("stages.toml", text))
            .project
            .expect("valid project");
        let here = Path::new("/work/here");
        let raw = ["dist=out".to_owned()];
        let outputs = parse_outputs(&raw, &project, here).unwrap();
        assert_eq!(outputs["dist"], PathBuf::from("/work/here/out"));
        let raw = ["dist=/tmp/x".to_owned()];
        let outputs = parse_outputs(&raw, &project, here).unwrap();
        assert_eq!(outputs["dist"], PathBuf::from("/tmp/x"));
        let error = |raw: &[&str]| {
            let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
            let report = parse_outputs(&raw, &project, here).unwrap_err();
            let help = report.help().map(|h| h.to_string()).unwrap_or_default();
            format!("{report} / {help}")
        };
        assert!(error(&["dsit=out"]).contains("did you mean `dist`?"));
        assert!(error(&["image=out"]).contains("an image target"));
        assert!(error(&["dist"]).contains("TARGET=DIR"));
        assert!(error(&["dist="]).contains("TARGET=DIR"));
        assert!(error(&["dist=a", "dist=b"]).contains("twice"));
    }

    #[test]
    fn the_cache_bound_is_a_size_none_or_the_default() {
        assert_eq!(parse_cache_max(None).unwrap(), Some(DEFAULT_CACHE_MAX));
        assert_eq!(parse_cache_max(Some(" ")).unwrap(), Some(DEFAULT_CACHE_MAX));
        assert_eq!(parse_cache_max(Some("2GB")).unwrap(), Some(2 << 30));
        assert_eq!(parse_cache_max(Some("0")).unwrap(), Some(0));
        assert_eq!(parse_cache_max(Some("none")).unwrap(), None);
        let refused = parse_cache_max(Some("lots")).unwrap_err();
        assert!(refused.to_string().contains("`lots` is not a size"));
    }

    #[test]
    fn build_args_parse_like_docker() {
        let env = |key: &str| (key == "FROM_ENV").then(|| "e".to_owned());
        let raw = ["A=1", "B=", "C=x=y", "FROM_ENV", "UNSET"].map(String::from);
        let args = parse_build_args(&raw, env).unwrap();
        assert_eq!(args["A"], "1");
        assert_eq!(args["B"], "");
        assert_eq!(args["C"], "x=y");
        assert_eq!(args["FROM_ENV"], "e");
        assert!(!args.contains_key("UNSET"));
        assert!(parse_build_args(&["=v".to_owned()], env).is_err());
    }
}
