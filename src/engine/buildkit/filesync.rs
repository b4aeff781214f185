//! `moby.filesync.v1.FileSync/DiffCopy`: the sending side of fsutil's
//! packet protocol. BuildKit names a directory (`dir-name`: `context` or
//! `dockerfile`) and its filters; stages sends a STAT packet per entry and
//! an empty STAT to end the listing, then the bytes of each file BuildKit
//! requests (REQ → DATA chunks, an empty DATA to end the file), until FIN.
//! Only requested bytes are read and counted. What BuildKit asked to see
//! of a directory on disk, and the listing it was sent, can be noted
//! (`noting_reads`): the warm-build check (`unchanged`) walks the same
//! listings again to tell whether anything a build read has changed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bollard_buildkit_proto::fsutil::types::Packet;
use bollard_buildkit_proto::fsutil::types::packet::PacketType;
use bollard_buildkit_proto::moby::filesync::v1::file_sync_server;
use futures_util::Stream;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

use super::unchanged::{ContextRead, SentEntry};
use super::walk::{Entry, Source, is_regular, single_file, walk};

/// Bytes per DATA packet, as fsutil sends them.
const CHUNK: usize = 32 * 1024;

/// A directory BuildKit may ask for.
#[derive(Debug, Clone)]
pub enum SyncedDir {
    /// A directory on disk, walked under BuildKit's filters.
    Disk(PathBuf),
    /// One file made in memory (the exported Dockerfile).
    File {
        name: String,
        contents: bytes::Bytes,
    },
}

/// The file sync service of a session.
#[derive(Debug, Clone)]
pub struct FileSync {
    dirs: Arc<HashMap<String, SyncedDir>>,
    /// File bytes BuildKit asked for and was sent.
    served: Arc<AtomicU64>,
    /// Listings of directories on disk sent so far, when noted.
    reads: Option<NotedReads>,
}

/// The listings of directories on disk BuildKit asked for, in order, with
/// what each listing held.
pub type NotedReads = Arc<Mutex<Vec<(ContextRead, Vec<SentEntry>)>>>;

impl FileSync {
    pub fn new(dirs: HashMap<String, SyncedDir>, served: Arc<AtomicU64>) -> Self {
        Self {
            dirs: Arc::new(dirs),
            served,
            reads: None,
        }
    }

    /// The same, noting every listing of a directory on disk into `reads`.
    pub fn noting_reads(mut self, reads: NotedReads) -> Self {
        self.reads = Some(reads);
        self
    }
}

type PacketStream = Pin<Box<dyn Stream<Item = Result<Packet, Status>> + Send>>;

fn values(request: &Request<Streaming<Packet>>, key: &str) -> Vec<String> {
    request
        .metadata()
        .get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

#[tonic::async_trait]
impl file_sync_server::FileSync for FileSync {
    type DiffCopyStream = PacketStream;
    type TarStreamStream = PacketStream;

    async fn diff_copy(
        &self,
        request: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        let name = values(&request, "dir-name")
            .into_iter()
            .next()
            .unwrap_or_default();
        let Some(dir) = self.dirs.get(&name).cloned() else {
            return Err(Status::not_found(format!(
                "no access allowed to dir {name:?}"
            )));
        };
        let entries = match dir {
            SyncedDir::File { name, contents } => single_file(&name, contents),
            SyncedDir::Disk(root) => {
                let read = ContextRead {
                    dir: name,
                    excludes: values(&request, "exclude-patterns"),
                    includes: values(&request, "include-patterns"),
                    follow: values(&request, "followpaths"),
                };
                let filter = read
                    .filter()
                    .map_err(|e| Status::invalid_argument(e.to_string()))?;
                let entries = tokio::task::spawn_blocking(move || walk(&root, &filter))
                    .await
                    .map_err(|e| Status::internal(e.to_string()))?
                    .map_err(|e| Status::internal(format!("cannot read the build context: {e}")))?;
                if let Some(reads) = &self.reads {
                    let sent = entries.iter().map(|e| SentEntry::of(&e.stat)).collect();
                    reads
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push((read, sent));
                }
                entries
            }
        };
        let (sender, receiver) = mpsc::channel(64);
        let inbound = request.into_inner();
        tokio::spawn(send(entries, inbound, sender, self.served.clone()));
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn tar_stream(
        &self,
        _request: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        Err(Status::unimplemented(
            "stages sends the context with DiffCopy only",
        ))
    }
}

fn packet(kind: PacketType, id: u32, data: Vec<u8>) -> Packet {
    Packet {
        r#type: kind as i32,
        stat: None,
        id,
        data,
    }
}

/// Sends the listing, then answers requests until BuildKit says FIN.
async fn send(
    entries: Vec<Entry>,
    mut inbound: Streaming<Packet>,
    out: mpsc::Sender<Result<Packet, Status>>,
    served: Arc<AtomicU64>,
) {
    let mut files: HashMap<u32, Source> = HashMap::new();
    for (id, entry) in entries.into_iter().enumerate() {
        let id = id as u32;
        if let Some(source) = entry.source
            && is_regular(entry.stat.mode)
        {
            files.insert(id, source);
        }
        let stat = Packet {
            r#type: PacketType::PacketStat as i32,
            stat: Some(entry.stat),
            id: 0,
            data: Vec::new(),
        };
        if out.send(Ok(stat)).await.is_err() {
            return;
        }
    }
    if out
        .send(Ok(packet(PacketType::PacketStat, 0, Vec::new())))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let next = match inbound.message().await {
            Ok(Some(next)) => next,
            Ok(None) | Err(_) => return,
        };
        match PacketType::try_from(next.r#type) {
            Ok(PacketType::PacketReq) => {
                let Some(source) = files.get(&next.id) else {
                    let _ = out
                        .send(Err(Status::not_found(format!(
                            "BuildKit asked for entry {} which is not a file",
                            next.id
                        ))))
                        .await;
                    return;
                };
                if let Err(error) = send_file(next.id, source, &out, &served).await {
                    let _ = out.send(Err(error)).await;
                    return;
                }
            }
            Ok(PacketType::PacketFin) => {
                let _ = out
                    .send(Ok(packet(PacketType::PacketFin, 0, Vec::new())))
                    .await;
                return;
            }
            Ok(PacketType::PacketErr) => return,
            _ => {}
        }
    }
}

async fn send_file(
    id: u32,
    source: &Source,
    out: &mpsc::Sender<Result<Packet, Status>>,
    served: &AtomicU64,
) -> Result<(), Status> {
    let closed = || Status::cancelled("the session closed");
    match source {
        Source::Memory(bytes) => {
            for chunk in bytes.chunks(CHUNK) {
                served.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                out.send(Ok(packet(PacketType::PacketData, id, chunk.to_vec())))
                    .await
                    .map_err(|_| closed())?;
            }
        }
        Source::Disk(path) => {
            let mut file = tokio::fs::File::open(path)
                .await
                .map_err(|e| Status::internal(format!("cannot read {}: {e}", path.display())))?;
            loop {
                let mut buffer = vec![0; CHUNK];
                let read = file.read(&mut buffer).await.map_err(|e| {
                    Status::internal(format!("cannot read {}: {e}", path.display()))
                })?;
                if read == 0 {
                    break;
                }
                buffer.truncate(read);
                served.fetch_add(read as u64, Ordering::Relaxed);
                out.send(Ok(packet(PacketType::PacketData, id, buffer)))
                    .await
                    .map_err(|_| closed())?;
            }
        }
    }
    out.send(Ok(packet(PacketType::PacketData, id, Vec::new())))
        .await
        .map_err(|_| closed())
}
