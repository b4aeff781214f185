//! The session with a remote builder, as buildctl opens it: a
//! `Control.Session` call whose two streams of `BytesMessage` carry one
//! HTTP/2 connection, on which the builder is the gRPC client and stages
//! serves the same services as on the Engine (file sync, secrets,
//! registry credentials, health), plus file send for exporter output: an
//! image tarball, or (when `services` has one) the `local` exporter's
//! files as on the Engine.
//! Dropping the [`RemoteSession`] ends it.

use bollard_buildkit_proto::health::health_server::HealthServer;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::SecretsServer;
use bollard_buildkit_proto::moby::buildkit::v1::BytesMessage;
use bollard_buildkit_proto::moby::filesync::v1::auth_server::AuthServer;
use bollard_buildkit_proto::moby::filesync::v1::file_send_server::FileSendServer;
use bollard_buildkit_proto::moby::filesync::v1::file_sync_server::FileSyncServer;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tonic::metadata::MetadataValue;

use super::connect::Control;
use super::filesend::FileSend;
use crate::engine::buildkit::health::Health;
use crate::engine::buildkit::session::{Services, SessionIo};

/// The methods served, announced to the builder.
const METHODS: &[&str] = &[
    "/moby.filesync.v1.FileSync/DiffCopy",
    "/moby.filesync.v1.FileSync/TarStream",
    "/moby.filesync.v1.FileSend/DiffCopy",
    "/grpc.health.v1.Health/Check",
    "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
];

/// Bytes read from the served connection per message to the builder.
const CHUNK: usize = 32 * 1024;

/// An open session; closed when dropped.
pub struct RemoteSession {
    pub id: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RemoteSession {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl RemoteSession {
    /// Opens a session on `control` and serves `services` on it; the
    /// tarball `filesend` unless `services` receives files.
    pub fn open(control: &Control, id: String, services: Services, filesend: FileSend) -> Self {
        let (served, pumped) = tokio::io::duplex(4 * CHUNK);
        let incoming =
            futures_util::stream::once(async move { Ok::<_, std::io::Error>(SessionIo(served)) })
                .chain(futures_util::stream::pending());
        let mut router = tonic::transport::Server::builder();
        let router = match services.filesend {
            Some(files) => router.add_service(files),
            None => router.add_service(FileSendServer::new(filesend)),
        };
        let router = router
            .add_service(FileSyncServer::new(services.filesync))
            .add_service(HealthServer::new(Health))
            .add_service(SecretsServer::new(services.secrets))
            .add_service(AuthServer::new(services.auth));
        let server = tokio::spawn(async move {
            // Ends with the session; the solve reports the build's errors.
            let _ = router.serve_with_incoming(incoming).await;
        });
        let pump = tokio::spawn(pump(control.clone(), id.clone(), pumped));
        Self {
            id,
            tasks: vec![server, pump],
        }
    }
}

/// Carries the served connection's bytes over the `Session` call.
async fn pump(mut control: Control, id: String, connection: DuplexStream) {
    let (mut reader, mut writer) = tokio::io::split(connection);
    let (to_builder, outgoing) = mpsc::channel::<BytesMessage>(16);
    let reading = tokio::spawn(async move {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let message = BytesMessage {
                        data: buffer[..n].to_vec(),
                    };
                    if to_builder.send(message).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    let outgoing = futures_util::stream::unfold(outgoing, |mut receiver| async move {
        receiver.recv().await.map(|message| (message, receiver))
    });
    let mut request = tonic::Request::new(outgoing);
    let metadata = request.metadata_mut();
    let mut headers = vec![
        ("x-docker-expose-session-uuid", id.clone()),
        ("x-docker-expose-session-name", "stages".to_owned()),
        ("x-docker-expose-session-sharedkey", "stages".to_owned()),
    ];
    for method in METHODS {
        headers.push(("x-docker-expose-session-grpc-method", (*method).to_owned()));
    }
    for (key, value) in headers {
        if let Ok(value) = value.parse::<MetadataValue<tonic::metadata::Ascii>>() {
            metadata.append(key, value);
        }
    }
    if let Ok(response) = control.session(request).await {
        let mut incoming = response.into_inner();
        while let Some(Ok(message)) = incoming.next().await {
            if writer.write_all(&message.data).await.is_err() {
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
    reading.abort();
}
