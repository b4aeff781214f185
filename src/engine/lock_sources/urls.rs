//! The sha256 of what a URL serves: downloaded over HTTP or HTTPS (the
//! system's root certificates), redirects followed, the body hashed as it
//! streams and never kept.

use std::time::Duration;

use http_body_util::BodyExt;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};

/// How many redirects a download follows.
const MAX_REDIRECTS: usize = 10;

/// `sha256:<hex>` of the body `url` serves, or why it could not be read.
/// `idle` bounds each wait for the server.
pub async fn checksum_of(url: &str, idle: Duration) -> Result<String, String> {
    let client = http_client()?;
    let mut current: hyper::Uri = url.parse().map_err(|_| "not a valid URL".to_owned())?;
    for _ in 0..=MAX_REDIRECTS {
        let request = hyper::Request::get(current.clone())
            .header("User-Agent", concat!("stages/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|error| error.to_string())?;
        let response = tokio::time::timeout(idle, client.request(request))
            .await
            .map_err(|_| format!("no answer within {} s", idle.as_secs()))?
            .map_err(|error| format!("cannot download: {}", error_chain(&error)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| format!("redirect ({status}) without a location"))?;
            current = follow(&current, location)?;
            continue;
        }
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        let mut body = response.into_body();
        let mut hasher = Sha256::new();
        loop {
            let frame = tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| format!("the download stalled for {} s", idle.as_secs()))?;
            match frame {
                None => break,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        hasher.update(data);
                    }
                }
                Some(Err(error)) => return Err(format!("the download broke off: {error}")),
            }
        }
        return Ok(format!("sha256:{}", hex::encode(hasher.finalize())));
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A client for `http://` and `https://` URLs (the system's root certificates).
pub type HttpClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

pub fn http_client() -> Result<HttpClient, String> {
    Ok(Client::builder(TokioExecutor::new()).build(https_or_http()?))
}

/// A connector for `http://` and `https://` URLs (the system's root
/// certificates), for clients of any body type.
pub fn https_or_http()
-> Result<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, String>
{
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|error| format!("no root certificates for HTTPS: {error}"))?
        .https_or_http()
        .enable_http1()
        .build())
}

/// The URL a redirect's `Location` names, relative to `from`.
fn follow(from: &hyper::Uri, location: &str) -> Result<hyper::Uri, String> {
    let bad = || format!("a redirect to `{location}`, which is not a URL");
    if location.contains("://") {
        return location.parse().map_err(|_| bad());
    }
    let scheme = from.scheme_str().unwrap_or("http");
    let authority = from.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let base = from.path();
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}")
    };
    format!("{scheme}://{authority}{path}")
        .parse()
        .map_err(|_| bad())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_read_relative_to_the_url() {
        let from: hyper::Uri = "http://h:1/a/b/c.tgz".parse().unwrap();
        assert_eq!(follow(&from, "/x").unwrap().to_string(), "http://h:1/x");
        assert_eq!(
            follow(&from, "d.tgz").unwrap().to_string(),
            "http://h:1/a/b/d.tgz"
        );
        assert_eq!(
            follow(&from, "https://o/y").unwrap().to_string(),
            "https://o/y"
        );
    }
}
