//! The build's session with the Engine's BuildKit, as the docker CLI opens
//! it: `POST /session` upgraded to h2c, on which BuildKit is the gRPC
//! client and stages serves the session's services (file sync of the
//! context, secrets, registry credentials, health, and the files of an
//! artifact target sent back by the `local` exporter). The session lives as
//! long as its [`Session`]: dropping it closes the connection, which is
//! how an interrupted build tells BuildKit the client is gone.

use std::pin::Pin;
use std::task::{Context, Poll};

use bollard_buildkit_proto::health::health_server::HealthServer;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::SecretsServer;
use bollard_buildkit_proto::moby::filesync::v1::auth_server::AuthServer;
use bollard_buildkit_proto::moby::filesync::v1::file_sync_server::FileSyncServer;
use futures_util::StreamExt;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::auth::RegistryAuth;
use super::filesend::{self, FileSend};
use super::filesync::FileSync;
use super::health::Health;
use super::secrets::Secrets;
use super::transport::{Endpoint, TransportError, post};

/// The gRPC methods the session offers, announced to the Engine.
const METHODS: &[&str] = &[
    "/moby.filesync.v1.FileSync/DiffCopy",
    "/moby.filesync.v1.FileSync/TarStream",
    "/grpc.health.v1.Health/Check",
    "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
];

/// What the session serves.
pub struct Services {
    pub filesync: FileSync,
    pub secrets: Secrets,
    pub auth: RegistryAuth,
    /// Where the `local` exporter sends files, for an artifact target.
    pub filesend: Option<FileSend>,
}

/// An open session; closed when dropped.
pub struct Session {
    pub id: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Session {
    /// Opens a session with the Engine and starts serving `services` on it.
    pub async fn open(
        endpoint: &Endpoint,
        api_version: &str,
        id: String,
        name: &str,
        services: Services,
    ) -> Result<Self, TransportError> {
        let mut builder = post(api_version, "/session")
            .header(http::header::UPGRADE, "h2c")
            .header(http::header::CONNECTION, "Upgrade")
            .header("X-Docker-Expose-Session-Uuid", id.as_str())
            .header("X-Docker-Expose-Session-Name", name)
            .header("X-Docker-Expose-Session-Sharedkey", name);
        let receives_files = services.filesend.is_some().then_some(filesend::METHOD);
        for method in METHODS.iter().copied().chain(receives_files) {
            builder = builder.header("X-Docker-Expose-Session-Grpc-Method", method);
        }
        let request = builder
            .body(Empty::new())
            .map_err(|source| TransportError::Request {
                what: "session",
                source,
            })?;
        let response = endpoint.send("session", request).await?;
        if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(TransportError::Status {
                what: "session",
                status: response.status(),
                message: "the Engine did not upgrade the session connection".to_owned(),
            });
        }
        let upgraded =
            hyper::upgrade::on(response)
                .await
                .map_err(|source| TransportError::Http {
                    what: "session",
                    source,
                })?;
        let connection = SessionIo(TokioIo::new(upgraded));
        // One connection, and then none: the server must not stop accepting
        // (which would end the session) while the build runs.
        let incoming =
            futures_util::stream::once(async move { Ok::<_, std::io::Error>(connection) })
                .chain(futures_util::stream::pending());
        let router = tonic::transport::Server::builder()
            .add_service(FileSyncServer::new(services.filesync))
            .add_service(HealthServer::new(Health))
            .add_service(SecretsServer::new(services.secrets))
            .add_service(AuthServer::new(services.auth))
            .add_optional_service(services.filesend);
        let server = tokio::spawn(async move {
            // Ends when the Engine closes the session; errors then are
            // the build's, reported by the build request.
            let _ = router.serve_with_incoming(incoming).await;
        });
        Ok(Self { id, server })
    }
}

/// A session's connection (the Engine's upgraded one, or a remote
/// builder's stream), as tonic's server takes connections.
pub(super) struct SessionIo<T>(pub T);

impl<T> tonic::transport::server::Connected for SessionIo<T> {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl<T: AsyncRead + Unpin> AsyncRead for SessionIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SessionIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
