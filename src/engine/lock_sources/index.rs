//! The per-platform manifests of a multi-platform image: the index the tag
//! resolved to, read from the registry itself (the Engine tells only the
//! index digest). The registry's token flow is followed as the docker CLI
//! follows it: a `401` names a realm, which gives a token for the
//! repository, with the user's credentials when there are any. Loopback
//! registries are spoken to over plain HTTP, as the Engine allows; others
//! over HTTPS.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use serde::Deserialize;

use super::urls::{HttpClient, http_client};
use crate::engine::registry::credentials::Credentials;
use crate::engine::registry::reference::ImageRef;
use crate::lockfile::Lock;

/// What an index's manifests may be called.
pub const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The largest index read.
const MAX_INDEX: usize = 4 << 20;

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// `(platform, manifest digest)` of every platform the index `digest` of
/// `image` offers, sorted by platform; attestations (`unknown/unknown`) left out.
pub async fn platform_manifests(
    image: &ImageRef,
    digest: &str,
    credentials: Option<&Credentials>,
    idle: Duration,
) -> Result<Vec<(String, String)>, String> {
    let client = http_client()?;
    let host = if image.is_docker_hub() {
        "registry-1.docker.io"
    } else {
        image.registry.as_str()
    };
    let scheme = if is_loopback(host) { "http" } else { "https" };
    let url = format!("{scheme}://{host}/v2/{}/manifests/{digest}", image.path);
    let mut response = get(&client, &url, None, idle).await?;
    if response.status == 401 {
        let authorization = authorize(&client, &response.challenge, credentials, idle).await?;
        response = get(&client, &url, Some(&authorization), idle).await?;
    }
    if response.status != 200 {
        return Err(format!(
            "the registry answered {} for the index",
            response.status
        ));
    }
    parse_index(&response.body)
}

/// The platforms and digests an index lists.
pub fn parse_index(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let index: Index =
        serde_json::from_slice(body).map_err(|error| format!("the index is not JSON: {error}"))?;
    let mut found: Vec<(String, String)> = index
        .manifests
        .into_iter()
        .filter_map(|entry| {
            let platform = entry.platform?;
            if platform.os == "unknown" || platform.os.is_empty() || !Lock::is_digest(&entry.digest)
            {
                return None;
            }
            let text = match platform.variant.filter(|v| !v.is_empty()) {
                Some(variant) => format!("{}/{}/{variant}", platform.os, platform.architecture),
                None => format!("{}/{}", platform.os, platform.architecture),
            };
            Some((text, entry.digest))
        })
        .collect();
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

struct Answer {
    status: u16,
    challenge: String,
    body: Vec<u8>,
}

async fn get(
    client: &HttpClient,
    url: &str,
    authorization: Option<&str>,
    idle: Duration,
) -> Result<Answer, String> {
    let mut request = hyper::Request::get(url).header("Accept", INDEX_TYPES.join(", "));
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|error| error.to_string())?;
    let response = tokio::time::timeout(idle, client.request(request))
        .await
        .map_err(|_| format!("the registry did not answer within {} s", idle.as_secs()))?
        .map_err(|error| format!("cannot reach the registry: {error}"))?;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = tokio::time::timeout(idle, response.into_body().collect())
        .await
        .map_err(|_| "the registry stalled".to_owned())?
        .map_err(|error| format!("the answer broke off: {error}"))?
        .to_bytes();
    if body.len() > MAX_INDEX {
        return Err("the index is too large".to_owned());
    }
    Ok(Answer {
        status,
        challenge,
        body: body.to_vec(),
    })
}

/// The `Authorization` header a `WWW-Authenticate` challenge asks for.
async fn authorize(
    client: &HttpClient,
    challenge: &str,
    credentials: Option<&Credentials>,
    idle: Duration,
) -> Result<String, String> {
    let basic = credentials.and_then(|c| {
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
    let answer = get(client, &url, basic.as_deref(), idle).await?;
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
    fn an_index_lists_its_platforms_without_attestations() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let c = format!("sha256:{}", "c".repeat(64));
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"digest":"{b}","platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"digest":"{a}","platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"digest":"{c}","platform":{{"os":"unknown","architecture":"unknown"}}}}]}}"#
        );
        let found = parse_index(body.as_bytes()).expect("an index");
        assert_eq!(
            found,
            [
                ("linux/amd64".to_owned(), a),
                ("linux/arm64/v8".to_owned(), b)
            ]
        );
    }

    #[test]
    fn challenges_are_read_like_the_cli() {
        let params = r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
        assert_eq!(
            challenge_param(params, "realm").as_deref(),
            Some("https://auth.docker.io/token")
        );
        assert_eq!(
            challenge_param(params, "scope").as_deref(),
            Some("repository:library/alpine:pull")
        );
        assert_eq!(
            percent_encode("repository:a/b:pull"),
            "repository%3Aa%2Fb%3Apull"
        );
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(!is_loopback("ghcr.io"));
    }
}
