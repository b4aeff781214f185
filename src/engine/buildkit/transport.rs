//! Raw HTTP/1.1 connections to the Engine for the two requests bollard
//! cannot make for this back end: `POST /session` (upgraded to h2c, then
//! served as gRPC) and `POST /build` with `remote=client-session` (an empty
//! body; the context comes through the session). Unix sockets and plain
//! TCP only.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// The Engine could not be reached or refused a request.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "the BuildKit back end reaches the Engine over a unix socket or plain TCP, not `{address}`"
    )]
    Unsupported { address: String },
    #[error("cannot connect to the Engine at {address}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: the HTTP exchange with the Engine failed")]
    Http {
        what: &'static str,
        #[source]
        source: hyper::Error,
    },
    #[error("{what}: the request could not be made")]
    Request {
        what: &'static str,
        #[source]
        source: http::Error,
    },
    #[error("{what}: the Engine answered {status}: {message}")]
    Status {
        what: &'static str,
        status: StatusCode,
        message: String,
    },
}

/// Where the Engine listens, for raw connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(std::path::PathBuf),
    Tcp(String),
}

impl Endpoint {
    /// From the address the Engine was connected with.
    pub fn from_address(address: &str) -> Result<Self, TransportError> {
        if let Some(path) = address.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(path.into()));
        }
        if let Some(host) = address
            .strip_prefix("tcp://")
            .or_else(|| address.strip_prefix("http://"))
        {
            return Ok(Endpoint::Tcp(host.trim_end_matches('/').to_owned()));
        }
        Err(TransportError::Unsupported {
            address: address.to_owned(),
        })
    }

    /// Sends one request on a fresh connection.
    pub async fn send(
        &self,
        what: &'static str,
        request: Request<Empty<Bytes>>,
    ) -> Result<Response<Incoming>, TransportError> {
        let connect = |source| TransportError::Connect {
            address: self.to_string(),
            source,
        };
        let http = |source| TransportError::Http { what, source };
        let mut sender = match self {
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(connect)?;
                handshake(stream).await.map_err(http)?
            }
            Endpoint::Tcp(host) => {
                let stream = tokio::net::TcpStream::connect(host)
                    .await
                    .map_err(connect)?;
                handshake(stream).await.map_err(http)?
            }
        };
        let response = sender.send_request(request).await.map_err(http)?;
        if response.status().is_success() || response.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(response);
        }
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        Err(TransportError::Status {
            what,
            status,
            message,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(host) => write!(f, "tcp://{host}"),
        }
    }
}

async fn handshake<S>(
    stream: S,
) -> Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>, hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends with the request (or the session); its error
        // surfaces through the response.
        let _ = connection.with_upgrades().await;
    });
    Ok(sender)
}

/// A POST with the Engine's API version prefix and a Host header.
pub fn post(api_version: &str, path_and_query: &str) -> http::request::Builder {
    Request::post(format!("/v{api_version}{path_and_query}")).header(http::header::HOST, "docker")
}

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_query_values() {
        assert_eq!(
            Endpoint::from_address("unix:///var/run/docker.sock").unwrap(),
            Endpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            Endpoint::from_address("tcp://10.0.0.1:2375").unwrap(),
            Endpoint::Tcp("10.0.0.1:2375".into())
        );
        assert!(Endpoint::from_address("ssh://host").is_err());
        assert_eq!(encode("{\"A\":\"1 2\"}"), "%7B%22A%22%3A%221%202%22%7D");
    }
}
