//! `moby.filesync.v1.Auth/Credentials`: registry credentials for the
//! images BuildKit pulls, from Docker's configuration (credential helpers,
//! `auths`) as the other back ends read it. Token fetching is left to
//! BuildKit (it asks `Credentials` when the other methods are refused).

use bollard_buildkit_proto::moby::filesync::v1::auth_server;
use bollard_buildkit_proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};
use tonic::{Request, Response, Status};

use crate::engine::registry::credentials::DockerConfig;
use crate::engine::registry::reference::ImageRef;

/// Docker Hub's registry host, as BuildKit names it.
const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// The registry credentials of Docker's configuration.
#[derive(Debug, Clone)]
pub struct RegistryAuth {
    config: DockerConfig,
}

impl RegistryAuth {
    pub fn new(config: DockerConfig) -> Self {
        Self { config }
    }
}

#[tonic::async_trait]
impl auth_server::Auth for RegistryAuth {
    async fn credentials(
        &self,
        request: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        let host = request.into_inner().host;
        let host = if host == DOCKER_HUB_HOST {
            "docker.io"
        } else {
            host.as_str()
        };
        let Some(image) = ImageRef::parse(&format!("{host}/library/probe")) else {
            return Ok(Response::new(CredentialsResponse::default()));
        };
        let found = self
            .config
            .credentials_for(&image)
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        let response = match found {
            // An identity token goes as the secret with no user name, as
            // the docker CLI sends it.
            Some(c) if c.identity_token.is_some() => CredentialsResponse {
                username: String::new(),
                secret: c.identity_token.unwrap_or_default(),
            },
            Some(c) => CredentialsResponse {
                username: c.username.unwrap_or_default(),
                secret: c.password.unwrap_or_default(),
            },
            None => CredentialsResponse::default(),
        };
        Ok(Response::new(response))
    }

    async fn fetch_token(
        &self,
        _request: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("BuildKit fetches tokens itself"))
    }

    async fn get_token_authority(
        &self,
        _request: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("no token authority"))
    }

    async fn verify_token_authority(
        &self,
        _request: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("no token authority"))
    }
}
