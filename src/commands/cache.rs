//! `stages cache ls` and `stages cache prune`: the native back end's step
//! cache on the Engine — this project's entries (tagged
//! `stages-cache/<project id>:…`), or with `--all` every project's. `prune`
//! also removes what killed builds of this project left behind, the
//! snapshot images `stages build --debug` kept, and with `--all` the state
//! of projects whose directory is gone.

use std::collections::BTreeSet;

use miette::{IntoDiagnostic, miette};

use super::Exit;
use super::common::{find_config, load_project};
use crate::cli::{CacheLsArgs, CachePruneArgs, ConfigArg, EngineArg};
use crate::engine::client::DockerEngine;
use crate::engine::connection::EngineAddress;
use crate::engine::forgotten_projects::{ForgottenSweep, sweep_forgotten_projects};
use crate::engine::leftovers::{staging_parents, sweep_dead_builds};
use crate::engine::native::cache_admin::{
    CacheEntry, CacheScope, apply_last_use, compute_own_sizes, human_age, human_size, list_cache,
    parse_storage_size, prune_cache, select_for_prune,
};
use crate::engine::native::cache_usage;
use crate::engine::native::debug_snapshot::remove_snapshots;
use crate::engine::project_state::{ProjectState, recorded_path, state_root};

fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.get(..12).unwrap_or(id)
}

/// The project the command is about, with its artifact targets' staging
/// directories' parents.
struct ThisProject {
    state: ProjectState,
    staging_parents: Vec<std::path::PathBuf>,
}

fn here(config: &ConfigArg) -> Result<ThisProject, Exit> {
    let loaded = load_project(config)?;
    let state = ProjectState::for_config_dir(&loaded.dir).map_err(|error| {
        eprintln!("error: cannot resolve {}: {error}", loaded.dir.display());
        Exit::Usage
    })?;
    Ok(ThisProject {
        state,
        staging_parents: staging_parents(&loaded.dir, &loaded.project),
    })
}

/// With `--all`, the project of the current directory only if there is one.
fn here_if_any(config: &ConfigArg) -> Result<Option<ThisProject>, Exit> {
    if config.file.is_none() && !find_config(config).is_file() {
        return Ok(None);
    }
    here(config).map(Some)
}

async fn connect(engine: &EngineArg) -> miette::Result<DockerEngine> {
    Ok(
        EngineAddress::resolve_with(engine.host.as_deref(), engine.context.as_deref())?
            .connect()
            .await?,
    )
}

/// The entries of the scope, with own sizes and (for this project) the
/// recorded last uses.
async fn entries(
    engine: &DockerEngine,
    here: Option<&ThisProject>,
    all: bool,
) -> miette::Result<Vec<CacheEntry>> {
    let scope = match (all, here) {
        (false, Some(here)) => CacheScope::Project(here.state.id()),
        _ => CacheScope::All,
    };
    let mut entries = list_cache(engine, scope)
        .await
        .map_err(|e| miette!("{e}"))?;
    if let Some(here) = here {
        apply_last_use(&mut entries, &cache_usage::read(&here.state));
    }
    compute_own_sizes(engine, &mut entries)
        .await
        .map_err(|e| miette!("{e}"))?;
    Ok(entries)
}

fn project_of(entry: &CacheEntry) -> &str {
    entry.project.as_deref().unwrap_or("(none)")
}

pub fn ls(args: CacheLsArgs) -> miette::Result<Exit> {
    let here = match if args.all {
        here_if_any(&args.config)
    } else {
        here(&args.config).map(Some)
    } {
        Ok(here) => here,
        Err(exit) => return Ok(exit),
    };
    runtime()?.block_on(async {
        let engine = connect(&args.engine).await?;
        let entries = entries(&engine, here.as_ref(), args.all).await?;
        let project_column = if args.all { "PROJECT           " } else { "" };
        println!(
            "{project_column}{:<12}  {:>9}  {:<16}  {:<16}  {:<16}  STEP",
            "IMAGE", "SIZE", "CREATED", "LAST USED", "STAGE"
        );
        let now = now();
        for entry in &entries {
            let step: String = entry.step.chars().take(60).collect();
            let project = if args.all {
                format!("{:<16}  ", project_of(entry))
            } else {
                String::new()
            };
            println!(
                "{project}{:<12}  {:>9}  {:<16}  {:<16}  {:<16}  {step}",
                short(&entry.id),
                human_size(entry.reclaimable() as i64),
                human_age(entry.created, now),
                human_age(entry.last_used, now),
                entry.stage,
            );
        }
        if args.all {
            let projects: std::collections::BTreeSet<&str> = entries
                .iter()
                .filter_map(|e| e.project.as_deref())
                .collect();
            for project in projects {
                let path = recorded_path(project).map_or_else(
                    || "(built by another user or host, or its record is gone)".to_owned(),
                    |p| match p.try_exists() {
                        Ok(false) => format!("{} (deleted)", p.display()),
                        _ => p.display().to_string(),
                    },
                );
                eprintln!("project {project} is {path}");
            }
        }
        let total: u64 = entries.iter().map(CacheEntry::reclaimable).sum();
        let whose = match (&here, args.all) {
            (Some(here), false) => format!("project {}: ", here.state.id()),
            _ => "every project: ".to_owned(),
        };
        eprintln!(
            "{whose}{} cached steps, {}",
            entries.len(),
            human_size(total as i64)
        );
        Ok(Exit::Success)
    })
}

pub fn prune(args: CachePruneArgs) -> miette::Result<Exit> {
    let keep = match &args.keep_storage {
        Some(text) => Some(parse_storage_size(text).ok_or_else(|| {
            miette!(
                help = "write a size such as 500MB or 2GB",
                "`{text}` is not a size"
            )
        })?),
        None => None,
    };
    let here = match if args.all {
        here_if_any(&args.config)
    } else {
        here(&args.config).map(Some)
    } {
        Ok(here) => here,
        Err(exit) => return Ok(exit),
    };
    runtime()?.block_on(async {
        let engine = connect(&args.engine).await?;
        if let Some(here) = &here {
            let leftovers =
                sweep_dead_builds(&engine, &here.state, &here.staging_parents, "").await;
            for error in &leftovers.errors {
                eprintln!("warning: {error}");
            }
            println!("{}", leftovers.summary());
        }
        let project = here.as_ref().filter(|_| !args.all).map(|h| h.state.id());
        match remove_snapshots(&engine, project).await {
            Ok(0) => {}
            Ok(count) => println!("removed {count} debug snapshot images"),
            Err(error) => eprintln!("warning: debug snapshot images: {error}"),
        }
        let entries = entries(&engine, here.as_ref(), args.all).await?;
        let chosen = select_for_prune(&entries, keep, &Default::default());
        let report = prune_cache(&engine, chosen)
            .await
            .map_err(|e| miette!("{e}"))?;
        for (entry, reason) in &report.kept {
            eprintln!("kept {}: {reason}", short(&entry.id));
        }
        if args.all {
            // Name every project touched: others' caches go only here.
            let mut per_project = std::collections::BTreeMap::<&str, (usize, u64)>::new();
            for entry in &report.removed {
                let counts = per_project.entry(project_of(entry)).or_default();
                counts.0 += 1;
                counts.1 += entry.reclaimable();
            }
            for (project, (count, bytes)) in &per_project {
                println!(
                    "project {project}: removed {count} cached steps ({})",
                    human_size(*bytes as i64)
                );
            }
        }
        println!(
            "removed {} cached steps ({})",
            report.removed.len(),
            human_size(report.freed() as i64)
        );
        if args.all {
            let remaining = self::entries(&engine, None, true).await?;
            let cached: BTreeSet<String> =
                remaining.iter().filter_map(|e| e.project.clone()).collect();
            let sweep = sweep_forgotten_projects(&engine, &state_root(), &cached).await;
            print_forgotten(&sweep);
        }
        Ok(Exit::Success)
    })
}

/// The state of deleted projects: which went, and which stay and why.
fn print_forgotten(sweep: &ForgottenSweep) {
    for error in &sweep.errors {
        eprintln!("warning: {error}");
    }
    for (path, reason) in &sweep.kept {
        eprintln!(
            "kept the state of deleted project {}: {reason}",
            path.display()
        );
    }
    for path in &sweep.removed {
        println!("removed the state of deleted project {}", path.display());
    }
}
