//! A gRPC channel to a builder's Control API, over TCP (TLS when the
//! address has certificate files), a unix socket, or a container's
//! `buildctl dial-stdio` (`dial_stdio`), checked by asking the
//! builder for its workers: an address that is wrong, unreachable, or
//! speaks TLS when stages does not (or the other way round) fails here,
//! before any work is sent.

use std::time::Duration;

use bollard_buildkit_proto::moby::buildkit::v1::ListWorkersRequest;
use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use hyper_util::rt::TokioIo;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::address::{BuilderAddress, TlsFiles};
use super::dial_stdio::dial;
use super::workers::{Worker, workers_of};
use crate::engine::connection::EngineAddress;

/// How long connecting (and the first answer) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The Control API client of one builder.
pub type Control = ControlClient<Channel>;

/// A builder that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("builder {address}: {what}")]
    Tls { address: String, what: String },
    #[error("builder {address} is unreachable: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("builder {address} did not answer as a BuildKit daemon: {reason}")]
    NotBuildKit { address: String, reason: String },
}

/// The Engine that runs `docker-container://` builders: the one the
/// command's `--host` or `--context` names, as for its other Engine work.
#[derive(Debug, Clone, Default)]
pub struct ContainerEngine {
    pub host: Option<String>,
    pub context: Option<String>,
}

/// Connects and lists the builder's workers.
pub async fn connect(
    address: &BuilderAddress,
    engine: &ContainerEngine,
) -> Result<(Control, Vec<Worker>), ConnectError> {
    let channel = channel(address, engine).await?;
    // Large images travel as docker exporter tarballs over the session,
    // not in one message; the default limits fit the Control API.
    let mut control = ControlClient::new(channel);
    let asked = tokio::time::timeout(
        CONNECT_TIMEOUT,
        control.list_workers(ListWorkersRequest::default()),
    )
    .await;
    let reason = match asked {
        Ok(Ok(answer)) => return Ok((control, workers_of(answer.into_inner()))),
        Ok(Err(status)) => describe_status(&status),
        Err(_) => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
    };
    Err(ConnectError::NotBuildKit {
        address: address.to_string(),
        reason,
    })
}

/// The text of a gRPC failure, with the transport's cause (a TLS
/// handshake that failed says so there).
pub fn describe_status(status: &tonic::Status) -> String {
    let mut text = status.message().to_owned();
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    if text.is_empty() {
        text = format!("{:?}", status.code());
    }
    text
}

async fn channel(
    address: &BuilderAddress,
    engine: &ContainerEngine,
) -> Result<Channel, ConnectError> {
    let unreachable = |error: tonic::transport::Error| {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            reason.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        ConnectError::Unreachable {
            address: address.to_string(),
            reason,
        }
    };
    match address {
        BuilderAddress::Tcp { authority, tls } => {
            let scheme = if tls.is_some() { "https" } else { "http" };
            let mut endpoint = Endpoint::from_shared(format!("{scheme}://{authority}"))
                .map_err(unreachable)?
                .connect_timeout(CONNECT_TIMEOUT);
            if let Some(files) = tls {
                endpoint = endpoint
                    .tls_config(tls_config(address, files)?)
                    .map_err(unreachable)?;
            }
            endpoint.connect().await.map_err(unreachable)
        }
        BuilderAddress::Unix(path) => {
            let path = path.clone();
            // The URI is required by the channel and unused by the connector.
            Endpoint::from_static("http://buildkitd")
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await
                .map_err(unreachable)
        }
        BuilderAddress::DockerContainer(name) => {
            let engine =
                EngineAddress::resolve_with(engine.host.as_deref(), engine.context.as_deref())
                    .map_err(|e| ConnectError::Unreachable {
                        address: address.to_string(),
                        reason: e.to_string(),
                    })?
                    .connect()
                    .await
                    .map_err(|e| ConnectError::Unreachable {
                        address: address.to_string(),
                        reason: format!(
                            "the Engine that runs the container cannot be reached: {e}"
                        ),
                    })?;
            let docker = engine.docker().clone();
            let name = name.clone();
            Endpoint::from_static("http://buildkitd")
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                    let docker = docker.clone();
                    let name = name.clone();
                    async move {
                        let stream = dial(&docker, &name).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await
                .map_err(unreachable)
        }
    }
}

fn tls_config(address: &BuilderAddress, files: &TlsFiles) -> Result<ClientTlsConfig, ConnectError> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| ConnectError::Tls {
            address: address.to_string(),
            what: format!("cannot read {}: {e}", path.display()),
        })
    };
    let mut config = ClientTlsConfig::new();
    if let BuilderAddress::Tcp { authority, .. } = address {
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(host, _)| host);
        config = config.domain_name(host.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some(ca) = &files.ca {
        config = config.ca_certificate(Certificate::from_pem(read(ca)?));
    }
    if let (Some(cert), Some(key)) = (&files.cert, &files.key) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(config)
}
