//! `stages build --builder ADDR…`: image targets built on remote BuildKit
//! daemons instead of the Engine. Everything that can be refused is
//! refused before any work is sent: a bad or unreachable address, a TLS
//! mismatch, a platform no builder offers, a multi-platform image to load.
//! Images are pushed by the builders by digest (`--push`) and tagged in
//! their registries, or loaded into the local Engine and tagged there, and
//! artifact targets' files placed in their output directories, only once
//! every target succeeded. With several builders, a pushed target's
//! platforms are built as parts on any of them and their index assembled
//! by stages (`parts`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use miette::{IntoDiagnostic, miette};

use super::Exit;
use super::builders::{connect_all, parse_builders};
use super::common::{LoadedProject, print_diagnostics};
use crate::cli::{BuildArgs, Progress};
use crate::diagnostics::SourceFile;
use crate::engine::buildkit::remote::artifacts::{describe, stage_files};
use crate::engine::buildkit::remote::connect::ContainerEngine;
use crate::engine::buildkit::remote::farm::{Builder, FarmSettings, JobEnd, JobReport, run_farm};
use crate::engine::buildkit::remote::index_push::{PushedPart, push_index};
use crate::engine::buildkit::remote::job::{Job, part_label, plan_job};
use crate::engine::buildkit::remote::load::load_tarball;
use crate::engine::buildkit::remote::parts::spread_platforms;
use crate::engine::buildkit::remote::solve::{CacheEntry, Publish};
use crate::engine::buildkit::remote::tags::{PushedImage, tag_pushed};
use crate::engine::buildkit::remote::workers::offers;
use crate::engine::client::{DockerEngine, Engine};
use crate::engine::connection::EngineAddress;
use crate::engine::interrupt::Interrupt;
use crate::engine::output_dir::target_output_dir;
use crate::engine::progress::{ProgressMode, Reporter};
use crate::engine::registry::credentials::{DockerConfig, config_dir};
use crate::graph::ResolvedTarget;

/// Options only remote builders honour are refused without one.
pub fn refuse_remote_options(args: &BuildArgs) -> miette::Result<()> {
    let remote = &args.remote;
    if !remote.cache_to.is_empty() || !remote.cache_from.is_empty() {
        return Err(miette!(
            help = "give a builder with --builder tcp://HOST:PORT",
            "--cache-to and --cache-from need a remote builder (--builder)"
        ));
    }
    Ok(())
}

/// Options the remote path cannot honour.
fn refuse_engine_options(args: &BuildArgs) -> miette::Result<()> {
    let refused = [
        (!args.no_cache_filter.is_empty(), "--no-cache-filter"),
        (args.keep_going, "--keep-going"),
    ];
    if let Some((_, flag)) = refused.iter().find(|(given, _)| *given) {
        return Err(miette!(
            help = "build without --builder to use it",
            "{flag} is not supported with remote builders (--builder)"
        ));
    }
    Ok(())
}

/// `type=registry,ref=REF[,mode=max]`.
pub fn parse_cache_entry(flag: &str, text: &str) -> miette::Result<CacheEntry> {
    let mut attrs = BTreeMap::new();
    let mut kind = None;
    for part in text.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            return Err(miette!(
                help = format!("write {flag} type=registry,ref=REGISTRY/NAME:TAG"),
                "{flag} `{text}`: `{part}` is not KEY=VALUE"
            ));
        };
        if key == "type" {
            kind = Some(value.to_owned());
        } else {
            attrs.insert(key.to_owned(), value.to_owned());
        }
    }
    let kind = kind.unwrap_or_else(|| "registry".to_owned());
    if kind == "registry" && !attrs.contains_key("ref") {
        return Err(miette!(
            help = format!("write {flag} type=registry,ref=REGISTRY/NAME:TAG"),
            "{flag} `{text}`: a registry cache needs ref="
        ));
    }
    Ok(CacheEntry { kind, attrs })
}

/// Whether the build goes to remote builders: `--builder` (or
/// `BUILDKIT_HOST`) names some, or stages.toml's `[project] builder` does.
pub fn wants_builders(args: &BuildArgs, loaded: &LoadedProject) -> bool {
    !args.remote.builders.is_empty() || loaded.project.builder.is_some()
}

/// The builders' addresses: the command line's (and `BUILDKIT_HOST`'s),
/// else stages.toml's.
fn builder_texts(args: &BuildArgs, loaded: &LoadedProject) -> Vec<String> {
    if args.remote.builders.is_empty() {
        loaded
            .project
            .builder
            .iter()
            .map(|b| b.value.clone())
            .collect()
    } else {
        args.remote.builders.clone()
    }
}

pub fn run(
    args: &BuildArgs,
    loaded: &LoadedProject,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
) -> miette::Result<Exit> {
    refuse_engine_options(args)?;
    let addresses = parse_builders(&builder_texts(args, loaded), &args.remote.tls)?;
    let cache_to = args
        .remote
        .cache_to
        .iter()
        .map(|t| parse_cache_entry("--cache-to", t))
        .collect::<miette::Result<Vec<_>>>()?;
    let cache_from = args
        .remote
        .cache_from
        .iter()
        .map(|t| parse_cache_entry("--cache-from", t))
        .collect::<miette::Result<Vec<_>>>()?;
    let context_dir = loaded.context_dir();
    let current_dir = std::env::current_dir().into_diagnostic()?;
    let outputs = super::build::parse_outputs(&args.outputs, &loaded.project, &current_dir)?;
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for target in targets {
        let planned = target_output_dir(&loaded.project, &loaded.dir, &outputs, target)
            .map_err(|diagnostic| vec![diagnostic])
            .and_then(|output| {
                plan_job(
                    &loaded.project,
                    target,
                    build_args,
                    args.push,
                    &context_dir,
                    output,
                )
            });
        match planned {
            Ok(job) => jobs.push(job),
            Err(diagnostics) => refused.extend(diagnostics),
        }
    }
    if !refused.is_empty() {
        print_diagnostics(&loaded.file, &refused);
        return Ok(Exit::Failure);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let scratch = tempfile::Builder::new()
        .prefix("stages-images-")
        .tempdir()
        .into_diagnostic()?;
    let settings = FarmSettings {
        context_dir,
        secrets: parse_secrets(&args.secret)?,
        docker_config: DockerConfig::load().unwrap_or_else(|error| {
            eprintln!("warning: {error}; registries are used without credentials");
            DockerConfig::empty_at(config_dir(&|key| std::env::var(key).ok()).join("config.json"))
        }),
        no_cache: args.no_cache,
        cache_to,
        cache_from,
        scratch: scratch.path().to_owned(),
    };
    runtime.block_on(build(args, &loaded.file, &addresses, jobs, &settings))
}

fn parse_secrets(specs: &[String]) -> miette::Result<BTreeMap<String, std::path::PathBuf>> {
    let mut secrets = BTreeMap::new();
    for spec in specs {
        let (id, path) = super::build::parse_secret(spec)?;
        secrets.insert(id, path);
    }
    Ok(secrets)
}

async fn build(
    args: &BuildArgs,
    file: &SourceFile,
    addresses: &[crate::engine::buildkit::remote::address::BuilderAddress],
    jobs: Vec<Job>,
    settings: &FarmSettings,
) -> miette::Result<Exit> {
    let started = Instant::now();
    let mut builders = Vec::new();
    let mut errors = Vec::new();
    let container_engine = ContainerEngine {
        host: args.engine.host.clone(),
        context: args.engine.context.clone(),
    };
    for answer in connect_all(addresses, &container_engine).await {
        match answer {
            Ok(builder) => builders.push(builder),
            Err(error) => errors.push(error.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(miette!(
            code = "stages::builder::unreachable",
            help = "check the address, that buildkitd listens there, and its TLS settings (--builder-tls-ca/-cert/-key); `stages builders ls` shows what each builder answers; nothing was built",
            "{}",
            errors.join("\n")
        ));
    }
    let jobs = &spread_platforms(jobs, builders.len())[..];
    refuse_missing_platforms(&builders, jobs)?;
    // The Engine is needed only for images that come back to it.
    let engine = if jobs.iter().any(|j| j.publish == Publish::DockerTarball) {
        let address = EngineAddress::resolve_with(
            args.engine.host.as_deref(),
            args.engine.context.as_deref(),
        )?;
        Some(address.connect().await?)
    } else {
        None
    };
    let mode = progress_mode(args.progress);
    let mut reporter = Reporter::new(mode);
    let (interrupt, trigger) = Interrupt::new();
    let reports = {
        let farm = run_farm(&builders, jobs, settings, &mut reporter, &interrupt);
        tokio::pin!(farm);
        tokio::select! {
            reports = &mut farm => reports,
            _ = tokio::signal::ctrl_c() => {
                trigger.fire();
                tokio::time::timeout(Duration::from_secs(15), &mut farm)
                    .await
                    .unwrap_or_default()
            }
        }
    };
    reporter.finish();
    if interrupt.is_requested() {
        eprintln!("interrupted: the build stopped; no image was loaded or tagged");
        return Ok(Exit::Interrupted);
    }
    let failures: Vec<_> = reports
        .iter()
        .filter_map(|r| match &r.end {
            JobEnd::Failed(diagnostics) => Some(diagnostics.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut images = BTreeMap::new();
    let mut publish_error = None;
    if failures.is_empty()
        && let Err(error) = publish(
            engine.as_ref(),
            &settings.docker_config,
            jobs,
            &reports,
            &mut images,
        )
        .await
    {
        publish_error = Some(error);
    }
    print_summary(&reports, &images, started.elapsed(), failures.is_empty());
    if !failures.is_empty() {
        print_diagnostics(file, &failures);
        return Ok(Exit::Failure);
    }
    match publish_error {
        Some(error) => Err(miette!("{error}")),
        None => Ok(Exit::Success),
    }
}

/// A platform no builder offers is refused before anything is built.
fn refuse_missing_platforms(builders: &[Builder], jobs: &[Job]) -> miette::Result<()> {
    for job in jobs.iter().filter(|j| j.runs_commands) {
        for platform in &job.platforms {
            if !builders.iter().any(|b| offers(&b.workers, platform)) {
                let offered: Vec<String> = builders
                    .iter()
                    .map(|b| {
                        let platforms: Vec<&str> = b
                            .workers
                            .iter()
                            .flat_map(|w| w.platforms.iter().map(String::as_str))
                            .collect();
                        format!("{}: {}", b.address, platforms.join(", "))
                    })
                    .collect();
                return Err(miette!(
                    code = "stages::builder::missing-platform",
                    help = format!(
                        "give a builder for {platform}, enable emulation on one (binfmt), or drop it from `platforms`; the builders offer:\n{}",
                        offered.join("\n")
                    ),
                    "target `{}` runs commands for platform {platform}, which no builder offers; nothing was built",
                    job.target
                ));
            }
        }
    }
    Ok(())
}

/// Once every target succeeded: stages the artifact targets' files
/// (every entry checked), loads the tarballs into the Engine, tags the
/// pushed images in their registries, places the files in their output
/// directories and sets the loaded images' tags; a file refused or a tag
/// that cannot be set stops here.
async fn publish(
    engine: Option<&DockerEngine>,
    docker_config: &DockerConfig,
    jobs: &[Job],
    reports: &[JobReport],
    images: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let mut staged = Vec::new();
    let mut pushed = Vec::new();
    // Per target built as parts: its tags and what each part pushed.
    let mut parted: Vec<(&Job, Vec<PushedPart>)> = Vec::new();
    for (job, report) in jobs.iter().zip(reports) {
        if let (JobEnd::Files { archives }, Some(files)) = (&report.end, &job.files) {
            let staging = stage_files(files, archives)
                .map_err(|e| format!("target `{}`: {e}", job.target))?;
            staged.push((job, staging));
        }
    }
    for (job, report) in jobs.iter().zip(reports) {
        match &report.end {
            JobEnd::Tarball { path, image } => {
                let Some(engine) = engine else {
                    return Err("no Engine to load the images into".to_owned());
                };
                let id = load_tarball(engine, path, image)
                    .await
                    .map_err(|e| format!("target `{}`: {e}", job.target))?;
                images.insert(job.target.clone(), id);
            }
            JobEnd::Pushed { digest } => {
                let Some(digest) = digest else {
                    return Err(format!(
                        "target `{}`: the builder did not say which digest it pushed; no tag was moved",
                        job.label()
                    ));
                };
                images.insert(job.label(), digest.clone());
                let Some(platform) = &job.part else {
                    pushed.push(PushedImage {
                        target: job.target.clone(),
                        digest: digest.clone(),
                        tags: job.tags.clone(),
                    });
                    continue;
                };
                let part = PushedPart {
                    platform: platform.clone(),
                    digest: digest.clone(),
                };
                match parted.iter_mut().find(|(j, _)| j.target == job.target) {
                    Some((_, parts)) => parts.push(part),
                    None => parted.push((job, vec![part])),
                }
            }
            JobEnd::Files { .. } | JobEnd::Failed(_) | JobEnd::NotRun => {}
        }
    }
    for (job, parts) in parted {
        let index = push_index(&job.tags, &parts, docker_config)
            .await
            .map_err(|e| {
                format!(
                    "target `{}`: cannot put together the index of its platforms: {e}; no tag was moved",
                    job.target
                )
            })?;
        images.insert(job.target.clone(), index.clone());
        pushed.push(PushedImage {
            target: job.target.clone(),
            digest: index,
            tags: job.tags.clone(),
        });
    }
    tag_pushed(&pushed, docker_config).await?;
    for (job, staging) in staged {
        staging
            .commit()
            .map_err(|e| format!("target `{}`: {}", job.target, describe(&e)))?;
        if let Some(files) = &job.files {
            images.insert(
                job.target.clone(),
                format!("to {}", files.output.path.display()),
            );
        }
    }
    for (job, report) in jobs.iter().zip(reports) {
        if let (JobEnd::Tarball { .. }, Some(engine)) = (&report.end, engine) {
            let Some(image) = images.get(&job.target) else {
                continue;
            };
            for tag in &job.tags {
                engine.tag(image, tag).await.map_err(|e| {
                    format!("target `{}`: cannot tag {image} as {tag}: {e}", job.target)
                })?;
            }
        }
    }
    Ok(())
}

/// Per target (or part of one): its state, where it was built, and
/// whether it was re-run; after a target's last part, its index.
fn print_summary(
    reports: &[JobReport],
    images: &BTreeMap<String, String>,
    elapsed: Duration,
    succeeded: bool,
) {
    let verdict = if succeeded { "finished" } else { "failed" };
    eprintln!("build {verdict} in {:.1}s", elapsed.as_secs_f64());
    for (position, report) in reports.iter().enumerate() {
        let label = part_label(&report.target, report.part.as_deref());
        let state = match &report.end {
            JobEnd::Pushed { .. } => "pushed",
            JobEnd::Tarball { .. } if !succeeded => "unpublished",
            JobEnd::Tarball { .. } => "loaded",
            JobEnd::Files { .. } if !succeeded => "not exported",
            JobEnd::Files { .. } => "exported",
            JobEnd::Failed(_) => "failed",
            JobEnd::NotRun => "not built",
        };
        let mut line = format!("  {label:<16} {state}");
        if let Some(builder) = &report.builder {
            line.push_str(&format!(
                " on {builder} ({} steps ran, {} cached)",
                report.steps_ran, report.steps_cached
            ));
        }
        if let Some(image) = images.get(&label) {
            line.push_str(&format!(" {image}"));
        }
        eprintln!("{line}");
        if let Some(rerun) = &report.rerun {
            let who = if report.part.is_some() { &label } else { "" };
            eprintln!("  {who:<16} re-run: builder {rerun}");
        }
        let last_part = report.part.is_some()
            && reports
                .get(position + 1)
                .is_none_or(|next| next.target != report.target || next.part.is_none());
        if last_part && let Some(index) = images.get(&report.target) {
            eprintln!("  {:<16} index {index}", report.target);
        }
    }
}

fn progress_mode(requested: Progress) -> ProgressMode {
    match requested {
        Progress::Tty => ProgressMode::Tty,
        Progress::Plain => ProgressMode::Plain,
        Progress::Json => ProgressMode::Json,
        Progress::Quiet => ProgressMode::Quiet,
        Progress::Auto => {
            let output = super::output::settings();
            if output.quiet {
                ProgressMode::Quiet
            } else if output.verbose {
                ProgressMode::Plain
            } else {
                ProgressMode::auto()
            }
        }
    }
}
