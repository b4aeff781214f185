//! `moby.buildkit.secrets.v1.Secrets/GetSecret`: the files given with
//! `--secret id=…,src=…`, read when a `RUN --mount=type=secret` asks, so
//! their bytes reach only that step's mount, never a layer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use tonic::{Request, Response, Status};

/// The build's secrets by id.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    files: Arc<BTreeMap<String, PathBuf>>,
}

impl Secrets {
    pub fn new(files: BTreeMap<String, PathBuf>) -> Self {
        Self {
            files: Arc::new(files),
        }
    }
}

#[tonic::async_trait]
impl secrets_server::Secrets for Secrets {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = request.into_inner().id;
        let Some(path) = self.files.get(&id) else {
            // BuildKit's own wording, which its frontend turns into
            // "secret ID not found" for a required mount.
            return Err(Status::not_found(format!("secret {id} not found")));
        };
        let data = tokio::fs::read(path).await.map_err(|e| {
            Status::internal(format!("secret {id}: cannot read {}: {e}", path.display()))
        })?;
        Ok(Response::new(GetSecretResponse { data }))
    }
}
