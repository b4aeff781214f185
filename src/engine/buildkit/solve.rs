//! The solve request: `POST /build?version=2&remote=client-session` with an
//! empty body, as the docker CLI's BuildKit client sends it, and its
//! answer: JSON messages carrying BuildKit's status (`moby.buildkit.trace`,
//! base64 protobuf), the image id (`moby.image.id`) and errors.

use std::collections::BTreeMap;

use base64::Engine as _;
use bollard_buildkit_proto::moby::buildkit::v1::StatusResponse;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use prost::Message as _;
use serde::Deserialize;

use super::transport::{Endpoint, TransportError, encode, post};

/// What to solve.
#[derive(Debug, Clone, Default)]
pub struct SolveRequest {
    pub session: String,
    /// Lets the build be cancelled (`POST /build/cancel`).
    pub build_id: String,
    /// The Dockerfile's name in the session's `dockerfile` directory.
    pub dockerfile: String,
    pub target: String,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    /// The files of the target stage go to the session (BuildKit's `local`
    /// exporter) instead of an image into the Engine.
    pub export_files: bool,
}

impl SolveRequest {
    /// The path and query of the build request.
    pub fn path_and_query(&self) -> String {
        let json = |map: &BTreeMap<String, String>| {
            serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
        };
        let mut query = vec![
            ("version", "2".to_owned()),
            ("remote", "client-session".to_owned()),
            ("session", self.session.clone()),
            ("buildid", self.build_id.clone()),
            ("dockerfile", self.dockerfile.clone()),
            ("target", self.target.clone()),
            ("buildargs", json(&self.build_args)),
            ("labels", json(&self.labels)),
            ("rm", "1".to_owned()),
        ];
        if self.no_cache {
            query.push(("nocache", "1".to_owned()));
        }
        if self.export_files {
            // API 1.40+: one output, whose destination is the session.
            query.push(("outputs", r#"[{"Type":"local","Attrs":{}}]"#.to_owned()));
        }
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("/build?{}", pairs.join("&"))
    }
}

/// One message of the solve's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SolveMessage {
    Status(StatusResponse),
    ImageId(String),
    Error(String),
    /// Anything else the Engine printed.
    Output(String),
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    id: Option<String>,
    aux: Option<serde_json::Value>,
    stream: Option<String>,
    error: Option<String>,
    #[serde(rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

/// Reads one JSON line of the answer.
pub fn parse_line(line: &[u8]) -> Option<SolveMessage> {
    let raw: RawMessage = serde_json::from_slice(line).ok()?;
    if let Some(message) = raw.error_detail.and_then(|d| d.message).or(raw.error) {
        return Some(SolveMessage::Error(message));
    }
    match (raw.id.as_deref(), raw.aux) {
        (Some("moby.buildkit.trace"), Some(serde_json::Value::String(encoded))) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()?;
            StatusResponse::decode(bytes.as_slice())
                .ok()
                .map(SolveMessage::Status)
        }
        (Some("moby.image.id"), Some(aux)) => aux
            .get("ID")
            .and_then(|v| v.as_str())
            .map(|id| SolveMessage::ImageId(id.to_owned())),
        _ => raw.stream.map(SolveMessage::Output),
    }
}

/// The answer of a solve, read message by message.
pub struct SolveStream {
    body: Incoming,
    buffer: BytesMut,
    done: bool,
}

impl SolveStream {
    /// Sends the request; the answer streams while BuildKit works.
    pub async fn start(
        endpoint: &Endpoint,
        api_version: &str,
        request: &SolveRequest,
    ) -> Result<Self, TransportError> {
        let http = post(api_version, &request.path_and_query())
            .header(http::header::CONTENT_TYPE, "application/x-tar")
            .body(Empty::<Bytes>::new())
            .map_err(|source| TransportError::Request {
                what: "build",
                source,
            })?;
        let response = endpoint.send("build", http).await?;
        Ok(Self {
            body: response.into_body(),
            buffer: BytesMut::new(),
            done: false,
        })
    }

    /// The next message; `None` at the end of the answer.
    pub async fn next(&mut self) -> Option<Result<SolveMessage, TransportError>> {
        loop {
            while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line = self.buffer.split_to(end + 1);
                if let Some(message) = parse_line(&line) {
                    return Some(Ok(message));
                }
            }
            if self.done {
                let rest = std::mem::take(&mut self.buffer);
                return parse_line(&rest).map(Ok);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(source)) => {
                    self.done = true;
                    return Some(Err(TransportError::Http {
                        what: "build",
                        source,
                    }));
                }
                None => self.done = true,
            }
        }
    }
}

/// Asks the Engine to stop a running solve.
pub async fn cancel(endpoint: &Endpoint, api_version: &str, build_id: &str) {
    let Ok(request) = post(
        api_version,
        &format!("/build/cancel?id={}", encode(build_id)),
    )
    .body(Empty::<Bytes>::new()) else {
        return;
    };
    // Best effort: closing the session stops the solve too.
    let _ = endpoint.send("cancel", request).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_lines_are_decoded() {
        let status = StatusResponse {
            vertexes: vec![bollard_buildkit_proto::moby::buildkit::v1::Vertex {
                digest: "sha256:a".into(),
                name: "[app 1/2] FROM busybox".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(status.encode_to_vec());
        let line = format!(r#"{{"id":"moby.buildkit.trace","aux":"{encoded}"}}"#);
        assert_eq!(
            parse_line(line.as_bytes()),
            Some(SolveMessage::Status(status))
        );
        assert_eq!(
            parse_line(br#"{"id":"moby.image.id","aux":{"ID":"sha256:b"}}"#),
            Some(SolveMessage::ImageId("sha256:b".into()))
        );
        assert_eq!(
            parse_line(br#"{"errorDetail":{"message":"exit code: 3"},"error":"x"}"#),
            Some(SolveMessage::Error("exit code: 3".into()))
        );
        let request = SolveRequest {
            session: "s".into(),
            target: "app".into(),
            no_cache: true,
            ..SolveRequest::default()
        };
        let query = request.path_and_query();
        assert!(query.contains("version=2&remote=client-session&session=s"));
        assert!(query.contains("target=app"));
        assert!(query.ends_with("nocache=1"));
    }
}
