//! `stages build`: load and check stages.toml, resolve the targets, connect
//! to the Engine and build them with the chosen back end. Ctrl-C stops the
//! build, removes the containers it created and exits 130; a failed build
//! also leaves no container behind. Tags move only when a build succeeded.
//! A build holds a lock in the project's state directory while it runs; it first removes
//! what killed builds of the project left, and a native build ends by
//! keeping the project's step cache within its bound (`--cache-max`).

use std::collections::BTreeMap;

use miette::{IntoDiagnostic, miette};

use super::Exit;
use super::common::{LoadedProject, load_project, print_diagnostics, resolve};
use crate::cli::{Backend, BuildArgs, Progress};
use crate::diagnostics::render_json;
use crate::engine::backend::BuildFailure;
use crate::engine::backend::dockerfile::DockerfileBackend;
use crate::engine::build_lock::BuildLock;
use crate::engine::client::DockerEngine;
use crate::engine::connection::EngineAddress;
use crate::engine::interrupt::{Interrupt, Janitor};
use crate::engine::leftovers::{staging_parents, sweep_dead_builds};
use crate::engine::native::backend::{NativeBackend, NativeSettings};
use crate::engine::native::cache_admin::{human_size, parse_storage_size};
use crate::engine::native::cache_gc::{DEFAULT_CACHE_MAX, keep_bound};
use crate::engine::progress::{Event, ProgressMode, ProgressSink, Reporter};
use crate::engine::project_state::ProjectState;
use crate::engine::targets::{BuildSettings, build_targets};
use crate::graph::ResolvedTarget;

/// How long an interrupted build may take to reach a safe stopping point.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

pub fn run(args: BuildArgs) -> miette::Result<Exit> {
    if args.backend == Backend::Dockerfile {
        refuse_unsupported_options(&args)?;
    }
    let mut native_settings = native_settings(&args)?;
    let cache_max = parse_cache_max(args.cache_max.as_deref())?;
    let build_args = parse_build_args(&args.build_args, |key| std::env::var(key).ok())?;
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let targets = match resolve(&loaded, &args.targets) {
        Ok(targets) => targets,
        Err(exit) => return Ok(exit),
    };
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
    })
}

/// `id=ID,src=PATH` (also `source=`); the file must exist.
fn parse_secret(spec: &str) -> miette::Result<(String, std::path::PathBuf)> {
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
    let address = EngineAddress::resolve(args.engine.host.as_deref())?;
    let engine = address.connect().await?;
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
    let exit = build_with_lock(
        args,
        here,
        targets,
        build_args,
        native_settings,
        &engine,
        &janitor,
    )
    .await;
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
    let loaded = here.loaded;
    let engine = engine.clone();
    let janitor = janitor.clone();
    let mut reporter = Reporter::new(progress_mode(args.progress));
    let context_dir = loaded.context_dir();
    let settings = BuildSettings {
        project: &loaded.project,
        graph: &loaded.graph,
        config_text: &loaded.file.text,
        config_dir: &loaded.dir,
        context_dir: &context_dir,
        build_args,
        no_cache: args.no_cache,
    };
    let (interrupt, trigger) = Interrupt::new();
    let dockerfile = DockerfileBackend::new(&engine);
    let native = NativeBackend::new(&engine, native_settings);
    let outcome = {
        let build = async {
            match args.backend {
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
                Backend::Native => {
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
    if outcome.is_ok() {
        reporter.event(Event::Sent {
            bytes: engine.bytes_sent(),
        });
    }
    reporter.finish();
    if args.backend == Backend::Native && matches!(outcome, Ok(_) | Err(BuildFailure::Reported(_)))
    {
        keep_cache_bound(&engine, here, janitor.build_id(), &native).await;
    }
    let exit = match outcome {
        Ok(_) => return Ok(Exit::Success),
        Err(BuildFailure::Interrupted) => {
            eprintln!("interrupted: the build stopped; removing its containers");
            Exit::Interrupted
        }
        Err(BuildFailure::Reported(diagnostics)) => {
            if reporter.mode() == ProgressMode::Json {
                print!("{}", render_json(&loaded.file, &diagnostics));
            } else {
                print_diagnostics(&loaded.file, &diagnostics);
            }
            Exit::Failure
        }
        Err(BuildFailure::Engine(error)) => {
            sweep(&engine, &janitor).await;
            return Err(miette::Report::from_err(error).wrap_err(format!(
                "the build stopped: the Engine at {} failed",
                engine.address()
            )));
        }
        Err(BuildFailure::Context(error)) => {
            sweep(&engine, &janitor).await;
            return Err(miette::Report::from_err(error));
        }
    };
    sweep(&engine, &janitor).await;
    Ok(exit)
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

/// Removes the build's containers; what cannot be removed is named.
async fn sweep(engine: &DockerEngine, janitor: &Janitor) {
    for error in janitor.sweep(engine).await {
        eprintln!("warning: {error} (remove it with `docker rm -f`)");
    }
}

fn progress_mode(requested: Progress) -> ProgressMode {
    match requested {
        Progress::Auto => ProgressMode::auto(),
        Progress::Tty => ProgressMode::Tty,
        Progress::Plain => ProgressMode::Plain,
        Progress::Json => ProgressMode::Json,
        Progress::Quiet => ProgressMode::Quiet,
    }
}

/// Options the classic builder cannot honour are refused, not ignored.
fn refuse_unsupported_options(args: &BuildArgs) -> miette::Result<()> {
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
    use super::{DEFAULT_CACHE_MAX, parse_build_args, parse_cache_max};

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
