//! `stages build`'s build record: started with the last build's record to
//! compare with (`--explain` shows the comparison as the steps run), saved
//! when the build ends, whatever its outcome but an interruption (`stages
//! why` reads it).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::cli::Backend;
use crate::engine::build_record::{Recorder, store};
use crate::engine::project_state::ProjectState;
use crate::graph::ResolvedTarget;

/// The recorder of a build of `targets` by `backend`.
pub fn recorder(
    state: &ProjectState,
    context_dir: &Path,
    targets: &[ResolvedTarget],
    no_cache: bool,
    backend: Backend,
) -> Arc<Recorder> {
    let ignore = std::fs::read(context_dir.join(".dockerignore"))
        .ok()
        .map(|bytes| hex::encode(Sha256::digest(bytes)));
    Arc::new(Recorder::new(
        store::load_last_lenient(state),
        backend_label(backend),
        targets.iter().map(|t| t.name.clone()).collect(),
        no_cache,
        ignore,
    ))
}

/// Whether `backend` records its steps.
pub fn records(backend: Backend) -> bool {
    matches!(backend, Backend::Native | Backend::Buildkit | Backend::Auto)
}

fn backend_label(backend: Backend) -> &'static str {
    match backend {
        Backend::Buildkit => "buildkit",
        Backend::Dockerfile => "dockerfile",
        Backend::Native | Backend::Auto => "native",
    }
}

/// Keep the record as the last build's; a failure to write it is a
/// warning, never the build's failure.
pub fn save(state: &ProjectState, recorder: &Recorder) {
    let finished = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Err(error) = store::save(state, &recorder.finish(finished)) {
        eprintln!(
            "warning: cannot write the build record in {}: {error} (`stages why` and --explain compare with it)",
            store::records_dir(state).display()
        );
    }
}
