//! `docker-container://NAME`: a buildkitd running inside a container (as
//! buildx's container driver runs it), reached as buildx reaches it: the
//! Engine runs `buildctl dial-stdio` in the container (the exec API, its
//! streams attached), which joins its stdin and stdout to the daemon's
//! socket; the gRPC connection is carried over that hijacked stream. One
//! exec per connection; it ends when the connection does.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Bytes carried per read.
const CHUNK: usize = 64 * 1024;

/// A byte stream to the buildkitd in `container`.
pub async fn dial(docker: &Docker, container: &str) -> std::io::Result<DuplexStream> {
    let failed = |what: &str, error: bollard::errors::Error| {
        std::io::Error::other(format!(
            "cannot {what} `buildctl dial-stdio` in container {container}: {error}"
        ))
    };
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(false),
                cmd: Some(vec!["buildctl", "dial-stdio"]),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| failed("run", e))?;
    let started = docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: Some(CHUNK),
            }),
        )
        .await
        .map_err(|e| failed("attach to", e))?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err(std::io::Error::other(format!(
            "the Engine did not attach to `buildctl dial-stdio` in container {container}"
        )));
    };
    let (ours, theirs) = tokio::io::duplex(CHUNK);
    let (mut from_grpc, mut to_grpc) = tokio::io::split(theirs);
    // The daemon's bytes arrive on the exec's stdout; its stderr says why
    // it could not connect, and is not part of the connection.
    tokio::spawn(async move {
        while let Some(Ok(frame)) = output.next().await {
            if let LogOutput::StdOut { message } = frame
                && to_grpc.write_all(&message).await.is_err()
            {
                break;
            }
        }
        let _ = to_grpc.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            match from_grpc.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if input.write_all(&buffer[..n]).await.is_err() || input.flush().await.is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = input.shutdown().await;
    });
    Ok(ours)
}
