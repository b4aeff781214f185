//! Where the Docker Engine is and how to reach it: `--host`, else
//! `DOCKER_HOST` (unix, tcp, tcp with TLS through `DOCKER_TLS_VERIFY` and
//! `DOCKER_CERT_PATH`), else the local socket. Connecting negotiates the API
//! version with the daemon (bollard speaks a newer one than many engines),
//! so an unreachable daemon is found here, once, with the address tried.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::client::DockerEngine;
use super::codes;

/// The socket the Docker daemon listens on by default.
pub const DEFAULT_ADDRESS: &str = "unix:///var/run/docker.sock";

/// How long connecting may take before the daemon counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Requests such as a build stream can run long; this bounds waiting for a
/// response to start, not the whole build.
const REQUEST_TIMEOUT: u64 = 60 * 60;

/// Where the address came from, to say what to fix when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressOrigin {
    Flag,
    Environment,
    Default,
}

impl fmt::Display for AddressOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressOrigin::Flag => "from --host",
            AddressOrigin::Environment => "from DOCKER_HOST",
            AddressOrigin::Default => "the default socket",
        })
    }
}

/// The transport an address asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Unix,
    Tcp,
    /// TCP with TLS; the directory holds `ca.pem`, `cert.pem` and `key.pem`.
    Tls {
        cert_dir: PathBuf,
    },
}

/// A resolved Engine address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineAddress {
    pub url: String,
    pub origin: AddressOrigin,
    pub transport: Transport,
}

impl EngineAddress {
    /// Resolves the address from `--host` and the process environment.
    pub fn resolve(flag: Option<&str>) -> Result<Self, ConnectError> {
        Self::from_sources(flag, |key| std::env::var(key).ok())
    }

    /// Resolves the address from `--host` and an environment lookup.
    pub fn from_sources(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConnectError> {
        let from_env = env("DOCKER_HOST").filter(|v| !v.trim().is_empty());
        let (url, origin) = match (flag, from_env) {
            (Some(flag), _) => (flag.trim().to_owned(), AddressOrigin::Flag),
            (None, Some(host)) => (host.trim().to_owned(), AddressOrigin::Environment),
            (None, None) => (DEFAULT_ADDRESS.to_owned(), AddressOrigin::Default),
        };
        let tls_wanted = env("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0");
        let transport = if url.starts_with("unix://") {
            Transport::Unix
        } else if url.starts_with("tcp://") || url.starts_with("http://") {
            if tls_wanted {
                Transport::Tls {
                    cert_dir: cert_dir(&env),
                }
            } else {
                Transport::Tcp
            }
        } else if url.starts_with("https://") {
            Transport::Tls {
                cert_dir: cert_dir(&env),
            }
        } else {
            return Err(ConnectError::UnsupportedAddress { url, origin });
        };
        Ok(Self {
            url,
            origin,
            transport,
        })
    }

    /// Connects and negotiates the API version with the daemon.
    pub async fn connect(&self) -> Result<DockerEngine, ConnectError> {
        let docker = self.open().map_err(|source| self.unreachable(source))?;
        let negotiated = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| self.unreachable(bollard::errors::Error::RequestTimeoutError))?
            .map_err(|source| self.unreachable(source))?;
        Ok(DockerEngine::new(negotiated, self.url.clone()))
    }

    fn open(&self) -> Result<Docker, bollard::errors::Error> {
        match &self.transport {
            Transport::Unix => {
                Docker::connect_with_unix(&self.url, REQUEST_TIMEOUT, API_DEFAULT_VERSION)
            }
            Transport::Tcp => {
                Docker::connect_with_http(&self.url, REQUEST_TIMEOUT, API_DEFAULT_VERSION)
            }
            Transport::Tls { cert_dir } => Docker::connect_with_ssl(
                &self.url,
                &cert_dir.join("key.pem"),
                &cert_dir.join("cert.pem"),
                &cert_dir.join("ca.pem"),
                REQUEST_TIMEOUT,
                API_DEFAULT_VERSION,
            ),
        }
    }

    fn unreachable(&self, source: bollard::errors::Error) -> ConnectError {
        let help = match self.origin {
            AddressOrigin::Default => {
                "start the Docker daemon (for example `sudo systemctl start docker`), \
                 or point DOCKER_HOST or --host at a running Engine"
                    .to_owned()
            }
            AddressOrigin::Environment => {
                "DOCKER_HOST names this address: start the Engine there, \
                 or fix or unset DOCKER_HOST, or pass --host"
                    .to_owned()
            }
            AddressOrigin::Flag => {
                "check the address given to --host and that an Engine listens there".to_owned()
            }
        };
        let help = match &self.transport {
            Transport::Tls { cert_dir } => format!(
                "{help}; TLS certificates are read from {} (DOCKER_CERT_PATH)",
                cert_dir.display()
            ),
            _ => help,
        };
        ConnectError::Unreachable {
            url: self.url.clone(),
            origin: self.origin,
            help,
            source,
        }
    }
}

fn cert_dir(env: &impl Fn(&str) -> Option<String>) -> PathBuf {
    env("DOCKER_CERT_PATH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"))
}

/// The Engine cannot be used: one error naming the address tried.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConnectError {
    #[error("cannot reach the Docker Engine at {url} ({origin})")]
    #[diagnostic(code("stages::engine::unreachable"), help("{help}"))]
    Unreachable {
        url: String,
        origin: AddressOrigin,
        help: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("`{url}` ({origin}) is not a Docker Engine address `stages` can use")]
    #[diagnostic(
        code("stages::engine::bad-address"),
        help("use unix:///path/to/docker.sock, tcp://host:port or https://host:port")
    )]
    UnsupportedAddress { url: String, origin: AddressOrigin },
}

impl ConnectError {
    /// The catalog code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::Unreachable { .. } => codes::UNREACHABLE,
            ConnectError::UnsupportedAddress { .. } => codes::BAD_ADDRESS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn default_is_the_local_socket() {
        let address = EngineAddress::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(address.url, DEFAULT_ADDRESS);
        assert_eq!(address.origin, AddressOrigin::Default);
        assert_eq!(address.transport, Transport::Unix);
    }

    #[test]
    fn docker_host_is_read_and_flag_wins() {
        let env = env_of(&[("DOCKER_HOST", "tcp://10.0.0.1:2375")]);
        let address = EngineAddress::from_sources(None, &env).unwrap();
        assert_eq!(address.transport, Transport::Tcp);
        assert_eq!(address.origin, AddressOrigin::Environment);
        let address = EngineAddress::from_sources(Some("unix:///tmp/d.sock"), &env).unwrap();
        assert_eq!(address.url, "unix:///tmp/d.sock");
        assert_eq!(address.origin, AddressOrigin::Flag);
    }

    #[test]
    fn tls_verify_uses_the_cert_path() {
        let env = env_of(&[
            ("DOCKER_HOST", "tcp://engine:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/certs"),
        ]);
        let address = EngineAddress::from_sources(None, env).unwrap();
        assert_eq!(
            address.transport,
            Transport::Tls {
                cert_dir: PathBuf::from("/certs")
            }
        );
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let error = EngineAddress::from_sources(Some("ssh://me@box"), env_of(&[])).unwrap_err();
        assert!(matches!(error, ConnectError::UnsupportedAddress { .. }));
    }

    #[tokio::test]
    async fn a_missing_socket_is_unreachable_and_names_the_address() {
        let address =
            EngineAddress::from_sources(Some("unix:///nonexistent/docker.sock"), env_of(&[]))
                .unwrap();
        let error = address.connect().await.err().unwrap();
        assert_eq!(error.code(), codes::UNREACHABLE);
        assert!(
            error
                .to_string()
                .contains("unix:///nonexistent/docker.sock")
        );
    }
}
