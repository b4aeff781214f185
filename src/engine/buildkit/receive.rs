//! The receiving side of fsutil's packet protocol, as BuildKit's `local`
//! exporter sends files to the client: a STAT packet per entry (its index
//! among the STATs is its id), an empty STAT to end the listing; the
//! receiver asks for each regular file's bytes (REQ id → DATA chunks, an
//! empty DATA ends the file) and says FIN when it has all it wants.
//!
//! The entries become one tar, in the order BuildKit listed them, so the
//! shared export (`extract::Staging`) checks and places them by the same
//! rules as an archive copied out of a container: nothing is written
//! outside the output directory, modes are kept, devices refused.

use bollard_buildkit_proto::fsutil::types::packet::PacketType;
use bollard_buildkit_proto::fsutil::types::{Packet, Stat};
use tar::{EntryType, Header};

use super::walk::{GO_CHAR_DEVICE, GO_DEVICE, GO_DIR, GO_NAMED_PIPE, GO_SOCKET, GO_SYMLINK};

/// Why the files BuildKit sent could not be received.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("BuildKit stopped sending files: {0}")]
    Sender(String),
    #[error("BuildKit's file stream ended early")]
    Ended,
    #[error("BuildKit's file stream is not fsutil's protocol: {0}")]
    Protocol(String),
    #[error("the session closed")]
    Closed,
    #[error("cannot make the archive of the received files")]
    Archive(#[source] std::io::Error),
}

/// The packets of one transfer: what BuildKit sends, and a way to answer.
pub trait PacketLink {
    /// The next packet from BuildKit; `None` when its stream ended.
    fn receive(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<Packet>, ReceiveError>> + Send;
    /// Sends a packet to BuildKit.
    fn send(
        &mut self,
        packet: Packet,
    ) -> impl std::future::Future<Output = Result<(), ReceiveError>> + Send;
}

fn packet(kind: PacketType, id: u32) -> Packet {
    Packet {
        r#type: kind as i32,
        stat: None,
        id,
        data: Vec::new(),
    }
}

/// Receives every entry BuildKit sends, as a tar; [`finish`] then ends
/// the transfer (the archive is whole before BuildKit hears it is).
pub async fn receive(link: &mut impl PacketLink) -> Result<Vec<u8>, ReceiveError> {
    let listing = read_listing(link).await?;
    let mut archive = tar::Builder::new(Vec::new());
    for (id, stat) in listing.into_iter().enumerate() {
        let id =
            u32::try_from(id).map_err(|_| ReceiveError::Protocol("too many entries".into()))?;
        let data = if is_requested(&stat) {
            link.send(packet(PacketType::PacketReq, id)).await?;
            read_file(link, id).await?
        } else {
            Vec::new()
        };
        append(&mut archive, &stat, &data).map_err(ReceiveError::Archive)?;
    }
    archive.into_inner().map_err(ReceiveError::Archive)
}

/// Says FIN; BuildKit answers FIN and ends its stream.
pub async fn finish(link: &mut impl PacketLink) -> Result<(), ReceiveError> {
    link.send(packet(PacketType::PacketFin, 0)).await?;
    while let Some(next) = link.receive().await? {
        if next.r#type == PacketType::PacketFin as i32 {
            break;
        }
    }
    Ok(())
}

async fn read_listing(link: &mut impl PacketLink) -> Result<Vec<Stat>, ReceiveError> {
    let mut listing = Vec::new();
    loop {
        let next = link.receive().await?.ok_or(ReceiveError::Ended)?;
        match PacketType::try_from(next.r#type) {
            Ok(PacketType::PacketStat) => match next.stat {
                Some(stat) => listing.push(stat),
                None => return Ok(listing),
            },
            Ok(PacketType::PacketErr) => return Err(sender_error(&next)),
            _ => {
                return Err(ReceiveError::Protocol(format!(
                    "packet type {} before the end of the listing",
                    next.r#type
                )));
            }
        }
    }
}

async fn read_file(link: &mut impl PacketLink, id: u32) -> Result<Vec<u8>, ReceiveError> {
    let mut data = Vec::new();
    loop {
        let next = link.receive().await?.ok_or(ReceiveError::Ended)?;
        match PacketType::try_from(next.r#type) {
            Ok(PacketType::PacketData) if next.id == id => {
                if next.data.is_empty() {
                    return Ok(data);
                }
                data.extend_from_slice(&next.data);
            }
            Ok(PacketType::PacketErr) => return Err(sender_error(&next)),
            _ => {
                return Err(ReceiveError::Protocol(format!(
                    "packet type {} (id {}) while receiving file {id}",
                    next.r#type, next.id
                )));
            }
        }
    }
}

fn sender_error(packet: &Packet) -> ReceiveError {
    ReceiveError::Sender(String::from_utf8_lossy(&packet.data).into_owned())
}

/// A regular file whose bytes are asked for (a hard link names its first
/// path instead).
fn is_requested(stat: &Stat) -> bool {
    entry_type(stat) == Some(EntryType::Regular)
}

/// The tar entry type of a Go file mode; `None` for a socket, which an
/// archive cannot hold (the copy-out leaves sockets out too).
fn entry_type(stat: &Stat) -> Option<EntryType> {
    let mode = stat.mode;
    Some(if mode & GO_DIR != 0 {
        EntryType::Directory
    } else if mode & GO_SYMLINK != 0 {
        EntryType::Symlink
    } else if mode & GO_SOCKET != 0 {
        return None;
    } else if mode & GO_NAMED_PIPE != 0 {
        EntryType::Fifo
    } else if mode & GO_CHAR_DEVICE != 0 {
        EntryType::Char
    } else if mode & GO_DEVICE != 0 {
        EntryType::Block
    } else if !stat.linkname.is_empty() {
        EntryType::Link
    } else {
        EntryType::Regular
    })
}

fn append(archive: &mut tar::Builder<Vec<u8>>, stat: &Stat, data: &[u8]) -> std::io::Result<()> {
    let Some(kind) = entry_type(stat) else {
        return Ok(());
    };
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(stat.mode & 0o7777);
    header.set_mtime(u64::try_from(stat.mod_time / 1_000_000_000).unwrap_or(0));
    header.set_size(data.len() as u64);
    match kind {
        EntryType::Symlink | EntryType::Link => {
            archive.append_link(&mut header, &stat.path, &stat.linkname)
        }
        EntryType::Char | EntryType::Block => {
            header.set_device_major(u32::try_from(stat.devmajor).unwrap_or(0))?;
            header.set_device_minor(u32::try_from(stat.devminor).unwrap_or(0))?;
            archive.append_data(&mut header, &stat.path, data)
        }
        _ => archive.append_data(&mut header, &stat.path, data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted sender, for tests: the packets BuildKit would send, and
    /// the ones the receiver answered.
    #[derive(Debug, Default)]
    pub struct ScriptedLink {
        pub inbound: VecDeque<Packet>,
        pub answered: Vec<Packet>,
    }

    impl PacketLink for ScriptedLink {
        async fn receive(&mut self) -> Result<Option<Packet>, ReceiveError> {
            Ok(self.inbound.pop_front())
        }

        async fn send(&mut self, packet: Packet) -> Result<(), ReceiveError> {
            self.answered.push(packet);
            Ok(())
        }
    }

    fn stat(path: &str, mode: u32, linkname: &str) -> Packet {
        Packet {
            r#type: PacketType::PacketStat as i32,
            stat: Some(Stat {
                path: path.into(),
                mode,
                linkname: linkname.into(),
                ..Stat::default()
            }),
            id: 0,
            data: Vec::new(),
        }
    }

    fn data(id: u32, bytes: &[u8]) -> Packet {
        Packet {
            r#type: PacketType::PacketData as i32,
            stat: None,
            id,
            data: bytes.to_vec(),
        }
    }

    #[tokio::test]
    async fn entries_become_a_tar_and_only_regular_files_are_requested() {
        let mut link = ScriptedLink::default();
        link.inbound.extend([
            stat("out", GO_DIR | 0o755, ""),
            stat("out/tool", 0o750, ""),
            stat("out/link", GO_SYMLINK | 0o777, "tool"),
            stat("out/same", 0o750, "out/tool"),
            stat("out/sock", GO_SOCKET | 0o755, ""),
            packet(PacketType::PacketStat, 0),
            data(1, b"#!/bin/sh\n"),
            data(1, b"echo hi\n"),
            data(1, b""),
            packet(PacketType::PacketFin, 0),
        ]);
        let archive = receive(&mut link).await.unwrap();
        finish(&mut link).await.unwrap();
        assert!(link.inbound.is_empty(), "BuildKit's FIN is read");
        let kinds: Vec<_> = link.answered.iter().map(|p| (p.r#type, p.id)).collect();
        assert_eq!(
            kinds,
            [
                (PacketType::PacketReq as i32, 1),
                (PacketType::PacketFin as i32, 0)
            ]
        );
        let mut read = tar::Archive::new(&archive[..]);
        let mut seen = Vec::new();
        for entry in read.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let header = entry.header().clone();
            let link = entry.link_name().unwrap().map(|l| l.display().to_string());
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            seen.push((
                path,
                header.entry_type(),
                header.mode().unwrap(),
                link,
                text,
            ));
        }
        assert_eq!(
            seen,
            [
                ("out".into(), EntryType::Directory, 0o755, None, "".into()),
                (
                    "out/tool".into(),
                    EntryType::Regular,
                    0o750,
                    None,
                    "#!/bin/sh\necho hi\n".into()
                ),
                (
                    "out/link".into(),
                    EntryType::Symlink,
                    0o777,
                    Some("tool".into()),
                    "".into()
                ),
                (
                    "out/same".into(),
                    EntryType::Link,
                    0o750,
                    Some("out/tool".into()),
                    "".into()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn an_error_or_an_early_end_from_buildkit_fails_the_transfer() {
        let mut link = ScriptedLink::default();
        link.inbound.extend([
            stat("a", 0o644, ""),
            packet(PacketType::PacketStat, 0),
            Packet {
                data: b"disk full".to_vec(),
                ..packet(PacketType::PacketErr, 0)
            },
        ]);
        match receive(&mut link).await {
            Err(ReceiveError::Sender(message)) => assert_eq!(message, "disk full"),
            other => panic!("expected the sender's error, got {other:?}"),
        }
        let mut link = ScriptedLink::default();
        link.inbound.extend([stat("a", 0o644, "")]);
        assert!(matches!(receive(&mut link).await, Err(ReceiveError::Ended)));
    }
}
