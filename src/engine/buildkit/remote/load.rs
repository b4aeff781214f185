//! A `docker` exporter tarball into the local Engine (`POST /images/load`),
//! streamed from the file the session received. The tarball names no tag:
//! the image arrives untagged, and tags move only when every target of
//! the build succeeded.

use std::path::Path;

use bollard::query_parameters::ImportImageOptionsBuilder;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use crate::engine::client::{DockerEngine, Engine};

/// Bytes read from the tarball per chunk sent.
const CHUNK: usize = 256 * 1024;

/// Loads the tarball at `path`; returns the image id (`config_digest`, the
/// id the exporter announced, checked on the Engine).
pub async fn load_tarball(
    engine: &DockerEngine,
    path: &Path,
    config_digest: &str,
) -> Result<String, String> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("cannot read the image tarball {}: {e}", path.display()))?;
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let options = ImportImageOptionsBuilder::new().quiet(true).build();
    let mut answer = engine
        .docker()
        .import_image(options, bollard::body_try_stream(chunks), None);
    while let Some(message) = answer.next().await {
        let message = message.map_err(|e| format!("the Engine did not load the image: {e}"))?;
        if let Some(error) = message.error_detail.and_then(|d| d.message) {
            return Err(format!("the Engine did not load the image: {error}"));
        }
    }
    match engine.inspect_image(config_digest).await {
        Ok(image) => Ok(image.id.unwrap_or_else(|| config_digest.to_owned())),
        Err(e) => Err(format!(
            "the Engine loaded the tarball but has no image {config_digest}: {e}"
        )),
    }
}
