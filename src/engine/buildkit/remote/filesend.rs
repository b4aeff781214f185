//! `moby.filesync.v1.FileSend/DiffCopy`: where a builder's exporter sends
//! its output back over the session. The `docker` exporter's tarball (and
//! the `tar` exporter's) comes as raw bytes, written to one file that the
//! build then reads; nothing is written unless an exporter sends.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use bollard_buildkit_proto::moby::filesync::v1::BytesMessage;
use bollard_buildkit_proto::moby::filesync::v1::file_send_server;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status, Streaming};

/// Receives one exporter's output into `path`.
#[derive(Debug, Clone)]
pub struct FileSend {
    path: Arc<PathBuf>,
}

impl FileSend {
    pub fn into_file(path: PathBuf) -> Self {
        Self {
            path: Arc::new(path),
        }
    }
}

type Answer = Pin<Box<dyn Stream<Item = Result<BytesMessage, Status>> + Send>>;

async fn receive(path: Arc<PathBuf>, mut input: Streaming<BytesMessage>) -> Result<(), Status> {
    let failed = |e: std::io::Error| Status::internal(format!("{}: {e}", path.display()));
    let mut file = tokio::fs::File::create(path.as_ref())
        .await
        .map_err(failed)?;
    while let Some(message) = input.next().await {
        file.write_all(&message?.data).await.map_err(failed)?;
    }
    file.flush().await.map_err(failed)?;
    file.sync_all().await.map_err(failed)
}

#[tonic::async_trait]
impl file_send_server::FileSend for FileSend {
    type DiffCopyStream = Answer;

    async fn diff_copy(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::DiffCopyStream>, Status> {
        let path = self.path.clone();
        let input = request.into_inner();
        // The builder closes its side when done and waits for ours to end:
        // the answer ends once every byte is on disk (or with the error).
        let answer = futures_util::stream::once(receive(path, input))
            .filter_map(|result| async move { result.err().map(Err) });
        Ok(Response::new(Box::pin(answer)))
    }
}
