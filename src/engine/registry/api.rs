//! A registry's HTTP API (the distribution spec), spoken directly for what
//! the Engine does not offer: reading a manifest by digest and putting it
//! under a tag. The token flow is followed as the docker CLI follows it: a
//! `401` names a realm, which gives a token for the scope the registry
//! asked for (a push asks for more than a pull), with the user's
//! credentials when there are any. Loopback registries are spoken to over
//! plain HTTP, as the Engine allows; others over HTTPS.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use super::credentials::Credentials;
use super::reference::ImageRef;
use crate::engine::lock_sources::urls::https_or_http;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every manifest type a tag may name.
pub const MANIFEST_TYPES: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// The largest manifest read.
const MAX_MANIFEST: usize = 4 << 20;

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// A manifest as the registry holds it: its bytes are its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    pub body: Bytes,
    /// `Docker-Content-Digest`, when the registry said it.
    pub digest: Option<String>,
}

/// One repository of one registry.
pub struct Repository {
    client: HttpsClient,
    /// `http(s)://host/v2/path`
    base: String,
    credentials: Option<Credentials>,
    authorization: Option<String>,
    idle: Duration,
}

struct Answer {
    status: u16,
    challenge: String,
    content_type: String,
    digest: Option<String>,
    location: Option<String>,
    body: Bytes,
}

impl Repository {
    /// The repository of `image`; `idle` bounds each wait for the registry.
    pub fn new(
        image: &ImageRef,
        credentials: Option<Credentials>,
        idle: Duration,
    ) -> Result<Self, String> {
        let connector = https_or_http()?;
        let host = if image.is_docker_hub() {
            "registry-1.docker.io"
        } else {
            image.registry.as_str()
        };
        let scheme = if is_loopback(host) { "http" } else { "https" };
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: format!("{scheme}://{host}/v2/{}", image.path),
            credentials,
            authorization: None,
            idle,
        })
    }

    /// The manifest `reference` (a tag or a digest) names, accepting
    /// `accept`; `None` when the registry has none. Asked by digest, the
    /// bytes must be what the digest names.
    pub async fn manifest(
        &mut self,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<Manifest>, String> {
        let url = format!("{}/manifests/{reference}", self.base);
        let answer = self
            .send(
                hyper::Method::GET,
                &url,
                ("Accept", accept.join(", ")),
                None,
            )
            .await?;
        match answer.status {
            200 if reference.starts_with("sha256:") && !sha256_matches(reference, &answer.body) => {
                Err(format!(
                    "the registry's manifest {reference} does not match its digest"
                ))
            }
            200 => Ok(Some(Manifest {
                media_type: answer.content_type,
                body: answer.body,
                digest: answer.digest,
            })),
            404 => Ok(None),
            status => Err(format!(
                "the registry answered {status} for manifest {reference}"
            )),
        }
    }

    /// Puts `manifest` under `tag` (or its digest); the registry's digest of it.
    pub async fn put_manifest(&mut self, tag: &str, manifest: &Manifest) -> Result<String, String> {
        let url = format!("{}/manifests/{tag}", self.base);
        let answer = self
            .send(
                hyper::Method::PUT,
                &url,
                ("Content-Type", manifest.media_type.clone()),
                Some(manifest.body.clone()),
            )
            .await?;
        if !(200..300).contains(&answer.status) {
            let text = String::from_utf8_lossy(&answer.body);
            return Err(format!(
                "the registry answered {} to putting it under {tag}: {}",
                answer.status,
                text.trim()
            ));
        }
        Ok(answer.digest.unwrap_or_default())
    }

    /// The blob `digest` (an image config: small), checked against its
    /// digest. A registry may redirect to its storage, which is asked
    /// without the registry's authorisation.
    pub async fn blob(&mut self, digest: &str) -> Result<Bytes, String> {
        let url = format!("{}/blobs/{digest}", self.base);
        let accept = ("Accept", "*/*".to_owned());
        let mut answer = self
            .send(hyper::Method::GET, &url, accept.clone(), None)
            .await?;
        if matches!(answer.status, 301 | 302 | 303 | 307 | 308)
            && let Some(location) = answer.location.clone()
        {
            let target = self.absolute(&location);
            answer = self.request_without_authorization(&target, &accept).await?;
        }
        match answer.status {
            200 if sha256_matches(digest, &answer.body) => Ok(answer.body),
            200 => Err(format!(
                "the registry's blob {digest} does not match its digest"
            )),
            404 => Err(format!("the registry has no blob {digest}")),
            status => Err(format!("the registry answered {status} for blob {digest}")),
        }
    }

    /// `location` as a whole URL (a redirect may give only a path).
    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            let origin = self.base.split("/v2/").next().unwrap_or(&self.base);
            format!("{origin}{location}")
        } else {
            location.to_owned()
        }
    }

    async fn request_without_authorization(
        &self,
        url: &str,
        header: &(&str, String),
    ) -> Result<Answer, String> {
        let anonymous = Self {
            client: self.client.clone(),
            base: self.base.clone(),
            credentials: None,
            authorization: None,
            idle: self.idle,
        };
        anonymous
            .request(hyper::Method::GET, url, header, None, None)
            .await
    }

    /// One request, authorised again once when the registry asks.
    async fn send(
        &mut self,
        method: hyper::Method,
        url: &str,
        header: (&str, String),
        body: Option<Bytes>,
    ) -> Result<Answer, String> {
        let mut answer = self
            .request(method.clone(), url, &header, body.clone(), None)
            .await?;
        if answer.status == 401 {
            let authorization = self.authorize(&answer.challenge).await?;
            answer = self
                .request(method, url, &header, body, Some(&authorization))
                .await?;
            self.authorization = Some(authorization);
        }
        Ok(answer)
    }

    async fn request(
        &self,
        method: hyper::Method,
        url: &str,
        header: &(&str, String),
        body: Option<Bytes>,
        authorization: Option<&str>,
    ) -> Result<Answer, String> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header(header.0, header.1.as_str());
        if let Some(authorization) = authorization.or(self.authorization.as_deref()) {
            request = request.header("Authorization", authorization);
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|error| error.to_string())?;
        let idle = self.idle;
        let response = tokio::time::timeout(idle, self.client.request(request))
            .await
            .map_err(|_| format!("the registry did not answer within {} s", idle.as_secs()))?
            .map_err(|error| format!("cannot reach the registry: {error}"))?;
        let header_text = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let challenge = header_text("www-authenticate").unwrap_or_default();
        let content_type = header_text("content-type").unwrap_or_default();
        let digest = header_text("docker-content-digest");
        let location = header_text("location");
        // Bounded while it is read: a registry cannot fill the memory.
        let limited = http_body_util::Limited::new(response.into_body(), MAX_MANIFEST);
        let body = tokio::time::timeout(idle, limited.collect())
            .await
            .map_err(|_| "the registry stalled".to_owned())?
            .map_err(|error| {
                if error.is::<http_body_util::LengthLimitError>() {
                    "the registry's answer is too large for a manifest".to_owned()
                } else {
                    format!("the answer broke off: {error}")
                }
            })?
            .to_bytes();
        Ok(Answer {
            status,
            challenge,
            content_type,
            digest,
            location,
            body,
        })
    }

    /// The `Authorization` header a `WWW-Authenticate` challenge asks for.
    async fn authorize(&self, challenge: &str) -> Result<String, String> {
        let basic = self.credentials.as_ref().and_then(|c| {
            let user = c.username.as_deref()?;
            let password = c.password.as_deref()?;
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ))
        });
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return basic
                .ok_or_else(|| "the registry wants credentials; run `docker login`".to_owned());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(format!("the registry asks for `{scheme}` authentication"));
        }
        let value = |key: &str| challenge_param(params, key);
        let realm = value("realm").ok_or("the registry's challenge names no realm")?;
        let mut query = Vec::new();
        for key in ["service", "scope"] {
            if let Some(v) = value(key) {
                query.push(format!("{key}={}", percent_encode(&v)));
            }
        }
        let url = if query.is_empty() {
            realm
        } else {
            format!("{realm}?{}", query.join("&"))
        };
        let header = ("Accept", "application/json".to_owned());
        let answer = self
            .request(hyper::Method::GET, &url, &header, None, basic.as_deref())
            .await?;
        if answer.status != 200 {
            return Err(format!("the token service answered {}", answer.status));
        }
        #[derive(Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&answer.body)
            .map_err(|_| "the token service did not answer JSON".to_owned())?;
        token
            .token
            .or(token.access_token)
            .map(|t| format!("Bearer {t}"))
            .ok_or_else(|| "the token service gave no token".to_owned())
    }
}

/// Whether `body` is what the `sha256:` digest names (other algorithms
/// are taken on trust).
fn sha256_matches(digest: &str, body: &[u8]) -> bool {
    use sha2::Digest as _;
    match digest.strip_prefix("sha256:") {
        Some(hex_digest) => hex::encode(sha2::Sha256::digest(body)) == hex_digest,
        None => true,
    }
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

/// `key="value"` out of a challenge's comma-separated parameters.
fn challenge_param(params: &str, key: &str) -> Option<String> {
    let mut rest = params;
    while let Some(at) = rest.find('=') {
        let name = rest[..at].trim().trim_start_matches(',').trim();
        let after = &rest[at + 1..];
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        if name.eq_ignore_ascii_case(key) {
            return Some(value.to_owned());
        }
        rest = tail;
    }
    None
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read_like_the_cli() {
        let params = r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#;
        assert_eq!(
            challenge_param(params, "realm").as_deref(),
            Some("https://auth.docker.io/token")
        );
        assert_eq!(
            challenge_param(params, "scope").as_deref(),
            Some("repository:library/alpine:pull,push")
        );
        assert_eq!(
            percent_encode("repository:a/b:pull"),
            "repository%3Aa%2Fb%3Apull"
        );
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(!is_loopback("ghcr.io"));
    }

    /// A registry on a free loopback port answering one request with
    /// `chunk` written `times` times; the bytes it managed to send.
    async fn one_answer(
        chunk: Vec<u8>,
        times: usize,
    ) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {OCI_MANIFEST}\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            // Stops early when the client hangs up.
            for _ in 0..times {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            }
        });
        (port, sent)
    }

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    fn repository(port: u16) -> Repository {
        let image = ImageRef::parse(&format!("127.0.0.1:{port}/r")).expect("reference");
        Repository::new(&image, None, Duration::from_secs(30)).expect("repository")
    }

    /// A registry that answers a manifest request with an endless body is
    /// refused once the answer passes the manifest bound, not read on.
    #[test]
    fn an_endless_answer_stops_at_the_manifest_bound() {
        run(async {
            // Far past the bound.
            let (port, sent) = one_answer(vec![b' '; 64 * 1024], 4096).await;
            let answer = repository(port).manifest("1", &MANIFEST_TYPES).await;
            assert_eq!(
                answer.err().as_deref(),
                Some("the registry's answer is too large for a manifest")
            );
            let read = sent.load(std::sync::atomic::Ordering::Relaxed);
            assert!(read < 8 * MAX_MANIFEST, "{read} bytes were sent");
        });
    }

    /// Asked by digest, a manifest whose bytes are not what the digest
    /// names is refused; asked by tag, the same bytes are taken.
    #[test]
    fn a_manifest_asked_by_digest_must_match_it() {
        let body = br#"{"schemaVersion":2}"#.to_vec();
        let other = format!("sha256:{}", "0".repeat(64));
        run(async {
            let (port, _) = one_answer(body.clone(), 1).await;
            let answer = repository(port).manifest(&other, &MANIFEST_TYPES).await;
            assert_eq!(
                answer.err(),
                Some(format!(
                    "the registry's manifest {other} does not match its digest"
                ))
            );
            let (port, _) = one_answer(body.clone(), 1).await;
            let by_tag = repository(port).manifest("1", &MANIFEST_TYPES).await;
            assert_eq!(by_tag.ok().flatten().map(|m| m.body.to_vec()), Some(body));
        });
    }
}
