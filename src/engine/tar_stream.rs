//! Request bodies written on a blocking thread and sent to the Engine as
//! they are written, in chunks of [`CHUNK`], at most [`IN_FLIGHT`] chunks
//! ahead of the connection: a context or an upload costs the same memory
//! whatever the size of its files. When the request is dropped (a failure,
//! Ctrl-C), the next write fails and the writer stops.

use std::io::{self, Read, Write};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::mpsc;

/// The size of one chunk of a streamed body.
pub const CHUNK: usize = 256 * 1024;
/// Chunks written but not yet sent.
pub const IN_FLIGHT: usize = 4;

/// A request body as a stream of chunks.
pub type Body = BoxStream<'static, Result<Bytes, io::Error>>;

/// The body `write` writes, streamed. An error of `write` ends the stream
/// with that error, so the request fails instead of sending a short body.
pub fn streamed<F>(write: F) -> Body
where
    F: FnOnce(&mut ChunkWriter) -> io::Result<()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK),
        };
        let outcome = write(&mut writer).and_then(|()| writer.send_buffer());
        if let Err(error) = outcome {
            let _ = writer.sender.blocking_send(Err(error));
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

/// Where a streamed body is written: each full chunk goes to the request.
pub struct ChunkWriter {
    sender: mpsc::Sender<Result<Bytes, io::Error>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the request was dropped"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let taken = room.min(data.len());
        self.buffer.extend_from_slice(&data[..taken]);
        if self.buffer.len() == CHUNK {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads exactly `size` bytes of `inner`: a file that shrank or grew since
/// its tar header was written is an error, not a corrupt tar.
pub struct ExactReader<R> {
    inner: io::Take<R>,
    remaining: u64,
    name: String,
}

impl<R: Read> ExactReader<R> {
    pub fn new(inner: R, size: u64, name: impl Into<String>) -> Self {
        Self {
            // One byte more, to notice a file that grew.
            inner: inner.take(size.saturating_add(1)),
            remaining: size,
            name: name.into(),
        }
    }
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        let changed = || io::Error::other(format!("{} changed while it was being sent", self.name));
        if read as u64 > self.remaining {
            return Err(changed());
        }
        if read == 0 && self.remaining > 0 {
            return Err(changed());
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_arrives_whole_in_bounded_chunks() {
        let body = streamed(|w| {
            for i in 0..(3 * CHUNK + 17) {
                w.write_all(&[(i % 251) as u8])?;
            }
            Ok(())
        });
        let chunks: Vec<Bytes> = body.try_collect().await.unwrap();
        assert!(chunks.iter().all(|c| c.len() <= CHUNK));
        let all: Vec<u8> = chunks.concat();
        assert_eq!(all.len(), 3 * CHUNK + 17);
        assert!(all.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_fails_the_body_and_a_dropped_body_stops_the_writer() {
        let body = streamed(|w| {
            w.write_all(b"start")?;
            Err(io::Error::other("disk gone"))
        });
        let error = body.try_collect::<Vec<Bytes>>().await.unwrap_err();
        assert_eq!(error.to_string(), "disk gone");

        let (done, finished) = tokio::sync::oneshot::channel();
        let mut body = streamed(move |w| {
            let outcome = (0..).try_for_each(|_| w.write_all(&[0; 4096]));
            let _ = done.send(outcome);
            Ok(())
        });
        let _first = body.next().await;
        drop(body);
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), finished)
            .await
            .expect("the writer went on after the body was dropped")
            .unwrap();
        assert_eq!(stopped.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_file_that_changed_size_is_an_error() {
        let mut out = Vec::new();
        let short = ExactReader::new(&b"abc"[..], 5, "f").read_to_end(&mut out);
        assert!(short.unwrap_err().to_string().contains("f changed"));
        let long = ExactReader::new(&b"abcdef"[..], 5, "f").read_to_end(&mut out);
        assert!(long.is_err());
        let mut out = Vec::new();
        ExactReader::new(&b"abcde"[..], 5, "f")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abcde");
    }
}
