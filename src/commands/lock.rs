//! `stages lock`: write `stages.lock` next to stages.toml, pinning every
//! external image the project reads to the digest its tag resolves to,
//! every `add` URL to the sha256 of what it serves, and every `add` git
//! source to the commit its ref names. Entries already locked are kept;
//! `--update` asks for all of them again, `--update NAME…` for those
//! named; what moved is printed. Also reading the lock for the commands
//! that use it (build, export-dockerfile, lint).

use std::path::Path;

use super::Exit;
use super::common::{load_project, print_diagnostics, write_atomic};
use crate::cli::LockArgs;
use crate::diagnostics::SourceFile;
use crate::engine::connection::EngineAddress;
use crate::engine::lock_sources::{Refresh, resolve_all};
use crate::engine::registry::credentials::{DockerConfig, config_dir};
use crate::engine::registry::reference::ImageRef;
use crate::lockfile::compare::moved;
use crate::lockfile::parse::parse_lock;
use crate::lockfile::reads::{Reads, reads_of_project};
use crate::lockfile::render::render;
use crate::lockfile::{HEADER_FIRST_LINE, LOCK_NAME, Lock};

pub fn run(args: LockArgs) -> miette::Result<Exit> {
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let path = loaded.dir.join(LOCK_NAME);
    let old = match read_lock(&loaded.dir) {
        Ok(lock) => lock.map(|(_, lock)| lock).unwrap_or_default(),
        Err(exit) if !args.force => {
            eprintln!(
                "error: {} cannot be read; pass --force to write a new one in its place",
                path.display()
            );
            return Ok(exit);
        }
        Err(_) => Lock::default(),
    };
    if !args.force && is_foreign(&path) {
        miette::bail!(
            help = "pass --force to replace it",
            "{} was not written by `stages lock`",
            path.display()
        );
    }
    let reads = reads_of_project(&loaded.project);
    let refresh = match refresh_of(&args, &reads) {
        Ok(refresh) => refresh,
        Err(message) => miette::bail!(help = "name images as stages.toml reads them", "{message}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| miette::miette!("{error}"))?;
    let resolved = runtime.block_on(async {
        let address = EngineAddress::resolve_with(
            args.engine.host.as_deref(),
            args.engine.context.as_deref(),
        )?;
        let engine = address.connect().await?;
        let config = DockerConfig::load().unwrap_or_else(|error| {
            eprintln!("warning: {error}; registries are asked without credentials");
            DockerConfig::empty_at(config_dir(&|key| std::env::var(key).ok()).join("config.json"))
        });
        Ok::<_, miette::Report>(resolve_all(&engine, &config, &reads, &old, &refresh).await)
    })?;
    for note in &resolved.notes {
        eprintln!("warning: {note}");
    }
    if !resolved.failures.is_empty() {
        for failure in &resolved.failures {
            eprintln!("error: {failure}");
        }
        eprintln!(
            "error: {} left as it was: {} of what stages.toml reads could not be resolved",
            LOCK_NAME,
            resolved.failures.len()
        );
        return Ok(Exit::Failure);
    }
    let changes = moved(&old, &resolved.lock);
    let text = render(&resolved.lock);
    let unchanged = std::fs::read_to_string(&path).is_ok_and(|current| current == text);
    if !unchanged {
        write_atomic(&path, text.as_bytes(), true)?;
    }
    for change in &changes {
        println!("{}", change.describe());
    }
    if unchanged {
        eprintln!("{} is up to date", path.display());
    } else {
        eprintln!("wrote {}", path.display());
    }
    Ok(Exit::Success)
}

/// A file at `path` that holds something other than a lock stages wrote.
fn is_foreign(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| !text.starts_with(HEADER_FIRST_LINE))
        || (path.exists() && std::fs::read_to_string(path).is_err())
}

/// What `--update [NAME…]` asks for; a name the project does not read is an error.
fn refresh_of(args: &LockArgs, reads: &Reads) -> Result<Refresh, String> {
    if !args.update {
        return Ok(Refresh::Missing);
    }
    if args.entries.is_empty() {
        return Ok(Refresh::All);
    }
    let mut keys = Vec::new();
    let mut unknown = Vec::new();
    for name in &args.entries {
        let image = reads
            .images
            .iter()
            .find(|i| i.reference == *name || same_image(&i.reference, name));
        if let Some(image) = image {
            keys.push(image.reference.clone());
        } else if reads.urls.iter().chain(&reads.git).any(|r| r.text == *name) {
            keys.push(name.clone());
        } else {
            unknown.push(name.as_str());
        }
    }
    if unknown.is_empty() {
        Ok(Refresh::Only(keys))
    } else {
        Err(format!(
            "stages.toml reads no image, URL or git source named {}",
            unknown.join(", ")
        ))
    }
}

/// `alpine` and `docker.io/library/alpine:latest` name one image.
fn same_image(a: &str, b: &str) -> bool {
    match (ImageRef::parse(a), ImageRef::parse(b)) {
        (Some(a), Some(b)) => a.pinned() == b.pinned(),
        _ => false,
    }
}

/// The lock next to stages.toml in `dir`: `None` when there is none; its
/// diagnostics printed and `Err` when it cannot be read.
pub fn read_lock(dir: &Path) -> Result<Option<(SourceFile, Lock)>, Exit> {
    let path = dir.join(LOCK_NAME);
    if !path.exists() {
        return Ok(None);
    }
    let text = match crate::input::read_text(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", path.display());
            return Err(Exit::Failure);
        }
    };
    let file = SourceFile::new(path.display().to_string(), text);
    match parse_lock(&file) {
        Ok(lock) => Ok(Some((file, lock))),
        Err(diagnostics) => {
            print_diagnostics(&file, &diagnostics);
            Err(Exit::Failure)
        }
    }
}

/// The project with the images and git refs stages.lock covers pinned,
/// for `export-dockerfile --locked`. A `from` with variables stays as
/// written: the Dockerfile keeps its ARGs, and an arg may name any image.
pub fn pinned_for_export(
    loaded: &super::common::LoadedProject,
) -> Result<super::common::LoadedProject, Exit> {
    let Some((_, lock)) = read_lock(&loaded.dir)? else {
        eprintln!(
            "error: --locked: there is no {LOCK_NAME} next to {}\n  help: run `stages lock` to write it",
            loaded.path.display()
        );
        return Err(Exit::Failure);
    };
    let project = crate::lockfile::pin::pin_project(
        &loaded.project,
        &lock,
        &[],
        &std::collections::BTreeMap::new(),
    );
    let graph = crate::graph::ProjectGraph::new(&project);
    Ok(super::common::LoadedProject {
        project,
        graph,
        ..loaded.clone()
    })
}
