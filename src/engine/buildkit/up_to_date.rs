//! The warm-build check of the BuildKit back end: before a solve, the
//! solve key of the stage (`unchanged`) is looked up among the project's
//! earlier solves (`solve_records`); when one is found, the context
//! listings it read digest the same and its image is still what the
//! target's tags name (or, with no tags, still on the Engine), that image
//! is the result and BuildKit is not asked. After a successful solve the
//! record of it is prepared, and written once the whole build succeeded.

use std::collections::BTreeMap;
use std::path::Path;

use super::solve_records::SolveRecord;
use super::unchanged::{ContextRead, ContextState, SentEntry, SolveKeyInput, digest_context};
use crate::config::model::StepKind;
use crate::engine::backend::StageBuild;
use crate::engine::client::{DockerEngine, Engine};
use crate::graph::ProjectGraph;

/// The session directory the context is served as.
pub const CONTEXT_DIR: &str = "context";

/// The solve key of `request` with `dockerfile` exported for it, or `None`
/// when the result cannot be known without a solve: an image the stages
/// read is not on the Engine yet, or an ADD reads a URL (BuildKit asks
/// its server again on every solve).
pub async fn solve_key(
    engine: &DockerEngine,
    request: &StageBuild<'_>,
    dockerfile: &str,
    secret_ids: Vec<String>,
    platform: &str,
) -> Option<String> {
    if reads_a_url(request) {
        return None;
    }
    let overrides: Vec<(String, String)> = request
        .build_args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let graph = ProjectGraph::new(request.project);
    let mut references: Vec<String> = Vec::new();
    for stage in request.stages {
        for (image, _) in graph.image_dependencies(stage) {
            let reference = request.project.expand_global(&image, &overrides);
            if reference != "scratch" && !references.contains(&reference) {
                references.push(reference);
            }
        }
    }
    let inspected = futures_util::future::join_all(
        references
            .iter()
            .map(|reference| engine.inspect_image(reference)),
    )
    .await;
    let mut images = Vec::new();
    for (reference, inspect) in references.into_iter().zip(inspected) {
        images.push((reference, inspect.ok()?.id?));
    }
    let input = SolveKeyInput {
        dockerfile: dockerfile.to_owned(),
        target: request.stage.to_owned(),
        build_args: overrides,
        labels: request
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        secret_ids,
        images,
        platform: platform.to_owned(),
    };
    Some(input.key())
}

/// An ADD of the stages reads a URL (or a git repository).
fn reads_a_url(request: &StageBuild<'_>) -> bool {
    request
        .stages
        .iter()
        .filter_map(|name| request.project.stage(name))
        .flat_map(|stage| &stage.steps)
        .any(|step| match &step.kind {
            StepKind::Add(add) => add.sources.iter().any(|s| s.value.contains("://")),
            _ => false,
        })
}

/// Whether the image `record` names is still the result: nothing the
/// solve read has changed and the image is still there.
pub async fn still_up_to_date(
    engine: &DockerEngine,
    record: &SolveRecord,
    request: &StageBuild<'_>,
) -> bool {
    let context = request.context_dir.to_owned();
    let (reads, files) = (record.reads.clone(), record.files.clone());
    let now =
        tokio::task::spawn_blocking(move || digest_context(&context, CONTEXT_DIR, &reads, &files))
            .await;
    let unchanged = matches!(now, Ok(Ok(now)) if now.digest == record.digest);
    unchanged && still_named(engine, &record.image, request.tags).await
}

/// Every tag names `image`; with no tags, `image` is on the Engine.
async fn still_named(engine: &DockerEngine, image: &str, tags: &[String]) -> bool {
    if tags.is_empty() {
        return engine
            .inspect_image(image)
            .await
            .is_ok_and(|found| found.id.as_deref() == Some(image));
    }
    let found =
        futures_util::future::join_all(tags.iter().map(|tag| engine.inspect_image(tag))).await;
    found
        .into_iter()
        .all(|inspect| inspect.is_ok_and(|found| found.id.as_deref() == Some(image)))
}

/// The record of a solve that gave `image`, when the context BuildKit
/// listed during it still lists the same (a file changed during the
/// build would otherwise be recorded with an image made from its old
/// content). `previous` holds the stamps of the last record of the key.
pub fn record_of_solve(
    key: String,
    image: String,
    context_dir: &Path,
    noted: Vec<(ContextRead, Vec<SentEntry>)>,
    previous: Option<SolveRecord>,
) -> Option<SolveRecord> {
    // A listing asked for twice (by several sources) is digested once.
    let mut reads: Vec<ContextRead> = Vec::new();
    let mut sent: BTreeMap<usize, Vec<SentEntry>> = BTreeMap::new();
    for (read, listing) in noted {
        match reads.iter().position(|r| *r == read) {
            Some(known) if sent.get(&known) != Some(&listing) => return None,
            Some(_) => {}
            None => {
                sent.insert(reads.len(), listing);
                reads.push(read);
            }
        }
    }
    let known = previous.map(|p| p.files).unwrap_or_default();
    let ContextState {
        digest,
        files,
        listings,
    } = digest_context(context_dir, CONTEXT_DIR, &reads, &known).ok()?;
    if listings != sent.into_values().collect::<Vec<_>>() {
        return None;
    }
    Some(SolveRecord {
        key,
        image,
        reads,
        digest,
        files,
    })
}
