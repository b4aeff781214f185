//! `moby.filesync.v1.FileSend/DiffCopy`: where BuildKit's `local` exporter
//! sends an artifact target's files. The service is declared over
//! `BytesMessage`, but BuildKit (like the docker CLI's receiver) puts
//! fsutil `Packet`s on the stream, so it is served here by hand with a
//! `Packet` codec rather than through the generated server.
//!
//! What arrives becomes one tar per transfer (`receive`), kept until the
//! solve ends. A multi-platform export is one transfer per platform, each
//! under its platform's directory (`linux_amd64/…`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bollard_buildkit_proto::fsutil::types::Packet;
use tokio::sync::mpsc;
use tonic::codegen::{Body, BoxFuture, Context, Poll, Service, StdError, http};
use tonic::{Status, Streaming};
use tonic_prost::ProstCodec;

use super::receive::{PacketLink, ReceiveError, finish, receive};

/// The gRPC method, as the session announces it.
pub const METHOD: &str = "/moby.filesync.v1.FileSend/DiffCopy";

type Received = Arc<Mutex<Vec<Result<Vec<u8>, ReceiveError>>>>;

/// The file send service of a session.
#[derive(Debug, Clone, Default)]
pub struct FileSend {
    received: Received,
}

impl FileSend {
    /// The archive of the first transfer, once; `None` if BuildKit sent
    /// nothing.
    pub fn take(&self) -> Option<Result<Vec<u8>, ReceiveError>> {
        self.take_all().into_iter().next()
    }

    /// The archive of every transfer, in the order they ended, once.
    pub fn take_all(&self) -> Vec<Result<Vec<u8>, ReceiveError>> {
        match self.received.lock() {
            Ok(mut received) => std::mem::take(&mut *received),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// The request stream and the answer channel of one transfer.
struct GrpcLink {
    inbound: Streaming<Packet>,
    out: mpsc::Sender<Result<Packet, Status>>,
}

impl PacketLink for GrpcLink {
    async fn receive(&mut self) -> Result<Option<Packet>, ReceiveError> {
        self.inbound
            .message()
            .await
            .map_err(|status| ReceiveError::Sender(status.message().to_owned()))
    }

    async fn send(&mut self, packet: Packet) -> Result<(), ReceiveError> {
        self.out
            .send(Ok(packet))
            .await
            .map_err(|_| ReceiveError::Closed)
    }
}

type PacketStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Packet, Status>> + Send>>;

/// One DiffCopy call.
struct DiffCopy(Received);

impl tonic::server::StreamingService<Packet> for DiffCopy {
    type Response = Packet;
    type ResponseStream = PacketStream;
    type Future = BoxFuture<tonic::Response<PacketStream>, Status>;

    fn call(&mut self, request: tonic::Request<Streaming<Packet>>) -> Self::Future {
        let received = self.0.clone();
        Box::pin(async move {
            let (out, answers) = mpsc::channel(16);
            let mut link = GrpcLink {
                inbound: request.into_inner(),
                out,
            };
            tokio::spawn(async move {
                let result = receive(&mut link).await;
                let failed = result.as_ref().err().map(ToString::to_string);
                // Kept before BuildKit is told the transfer is over, so it
                // is there when the solve ends.
                if let Ok(mut slot) = received.lock() {
                    slot.push(result);
                }
                match failed {
                    Some(message) => {
                        let _ = link.out.send(Err(Status::aborted(message))).await;
                    }
                    // The files are in hand: a failure to end cleanly
                    // shows in the solve's own answer.
                    None => {
                        let _ = finish(&mut link).await;
                    }
                }
            });
            let stream = futures_util::stream::unfold(answers, |mut answers| async move {
                answers.recv().await.map(|item| (item, answers))
            });
            Ok(tonic::Response::new(Box::pin(stream) as PacketStream))
        })
    }
}

impl<B> Service<http::Request<B>> for FileSend
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != METHOD {
            return Box::pin(async {
                Ok(Status::unimplemented("FileSend serves DiffCopy only").into_http())
            });
        }
        let method = DiffCopy(self.received.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<Packet, Packet>::default());
            Ok(grpc.streaming(method, request).await)
        })
    }
}

impl tonic::server::NamedService for FileSend {
    const NAME: &'static str = "moby.filesync.v1.FileSend";
}
