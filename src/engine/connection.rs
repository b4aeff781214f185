//! Where the Docker Engine is and how to reach it, decided as the docker
//! CLI decides: `--host`, else `--context`, else `DOCKER_HOST` (unix, tcp,
//! tcp with TLS through `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), else
//! `DOCKER_CONTEXT`, else the `currentContext` of Docker's config.json,
//! else the local socket (which is also what the context `default` means). Connecting negotiates the API
//! version with the daemon (bollard speaks a newer one than many engines),
//! so an unreachable daemon is found here, once, with the address tried.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};

use super::client::DockerEngine;
use super::codes;
use super::docker_context::{ContextError, DEFAULT_CONTEXT, read_endpoint};
use super::registry::credentials::config_dir;

/// The socket the Docker daemon listens on by default.
pub const DEFAULT_ADDRESS: &str = "unix:///var/run/docker.sock";

/// How long connecting may take before the daemon counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Requests such as a build stream can run long; this bounds waiting for a
/// response to start, not the whole build.
const REQUEST_TIMEOUT: u64 = 60 * 60;

/// `MAJOR.MINOR` of an API version.
pub fn parse_api_version(text: &str) -> Option<ClientVersion> {
    let (major, minor) = text.trim().split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// Where the address came from, to say what to fix when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressOrigin {
    Flag,
    Environment,
    /// A Docker context (`--context`, `DOCKER_CONTEXT` or the current one).
    Context,
    Default,
}

impl fmt::Display for AddressOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressOrigin::Flag => "from --host",
            AddressOrigin::Environment => "from DOCKER_HOST",
            AddressOrigin::Context => "from the Docker context",
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
    /// The Docker context the address came from.
    pub context: Option<String>,
}

impl EngineAddress {
    /// Resolves the address from `--host` and the process environment.
    pub fn resolve(flag: Option<&str>) -> Result<Self, ConnectError> {
        Self::resolve_with(flag, None)
    }

    /// Resolves the address from `--host`, `--context` and the process
    /// environment.
    pub fn resolve_with(flag: Option<&str>, context: Option<&str>) -> Result<Self, ConnectError> {
        Self::from_sources_with(flag, context, |key| std::env::var(key).ok())
    }

    /// Resolves the address from `--host` and an environment lookup.
    pub fn from_sources(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConnectError> {
        Self::from_sources_with(flag, None, env)
    }

    /// Resolves the address from `--host`, `--context` and an environment lookup.
    pub fn from_sources_with(
        flag: Option<&str>,
        context_flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConnectError> {
        let set = |key: &str| env(key).filter(|v| !v.trim().is_empty());
        let from_env = set("DOCKER_HOST");
        let context = match (flag, context_flag, &from_env) {
            (Some(_), Some(_), _) => return Err(ConnectError::HostAndContext),
            (Some(_), None, _) | (None, None, Some(_)) => None,
            (None, Some(name), _) => Some(name.trim().to_owned()),
            (None, None, None) => set("DOCKER_CONTEXT")
                .map(|name| name.trim().to_owned())
                .or_else(|| current_context(&env)),
        };
        let context = context.filter(|name| name != DEFAULT_CONTEXT);
        if let Some(name) = context {
            return Self::of_context(&name, &env);
        }
        let (url, origin) = match (flag, from_env) {
            (Some(flag), _) => (flag.trim().to_owned(), AddressOrigin::Flag),
            (None, Some(host)) => (host.trim().to_owned(), AddressOrigin::Environment),
            (None, None) => (DEFAULT_ADDRESS.to_owned(), AddressOrigin::Default),
        };
        let tls_wanted = env("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0")
            || url.starts_with("https://");
        Self::with_transport(url, origin, tls_wanted.then(|| cert_dir(&env)))
    }

    /// The endpoint of Docker context `name`.
    fn of_context(name: &str, env: &impl Fn(&str) -> Option<String>) -> Result<Self, ConnectError> {
        let endpoint = read_endpoint(&config_dir(env), name).map_err(ConnectError::Context)?;
        let tls = endpoint
            .tls_dir
            .or_else(|| endpoint.host.starts_with("https://").then(|| cert_dir(env)));
        let mut address = Self::with_transport(endpoint.host, AddressOrigin::Context, tls)?;
        address.context = Some(name.to_owned());
        Ok(address)
    }

    fn with_transport(
        url: String,
        origin: AddressOrigin,
        tls: Option<PathBuf>,
    ) -> Result<Self, ConnectError> {
        let transport = if url.starts_with("unix://") {
            Transport::Unix
        } else if url.starts_with("tcp://") || url.starts_with("http://") {
            match tls {
                Some(cert_dir) => Transport::Tls { cert_dir },
                None => Transport::Tcp,
            }
        } else if url.starts_with("https://") {
            Transport::Tls {
                cert_dir: tls.unwrap_or_default(),
            }
        } else {
            return Err(ConnectError::UnsupportedAddress { url, origin });
        };
        Ok(Self {
            url,
            origin,
            transport,
            context: None,
        })
    }

    /// Connects and negotiates the API version with the daemon: the lower
    /// of the Engine's and bollard's, as bollard's own negotiation picks,
    /// from one `GET /version` whose answer the Engine keeps (it costs the
    /// daemon milliseconds: it asks its runtimes for their versions).
    pub async fn connect(&self) -> Result<DockerEngine, ConnectError> {
        let docker = self
            .open(API_DEFAULT_VERSION)
            .map_err(|source| self.unreachable(source))?;
        let version = tokio::time::timeout(CONNECT_TIMEOUT, docker.version())
            .await
            .map_err(|_| self.unreachable(bollard::errors::Error::RequestTimeoutError))?
            .map_err(|source| self.unreachable(source))?;
        let server = version
            .api_version
            .as_deref()
            .and_then(parse_api_version)
            .ok_or_else(|| self.unreachable(bollard::errors::Error::APIVersionParseError {}))?;
        let negotiated = if server < *API_DEFAULT_VERSION {
            self.open(&server)
                .map_err(|source| self.unreachable(source))?
        } else {
            docker
        };
        Ok(DockerEngine::new(negotiated, self.url.clone(), version))
    }

    fn open(&self, api: &ClientVersion) -> Result<Docker, bollard::errors::Error> {
        match &self.transport {
            Transport::Unix => Docker::connect_with_unix(&self.url, REQUEST_TIMEOUT, api),
            Transport::Tcp => Docker::connect_with_http(&self.url, REQUEST_TIMEOUT, api),
            Transport::Tls { cert_dir } => Docker::connect_with_ssl(
                &self.url,
                &cert_dir.join("key.pem"),
                &cert_dir.join("cert.pem"),
                &cert_dir.join("ca.pem"),
                REQUEST_TIMEOUT,
                api,
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
            AddressOrigin::Context => format!(
                "the Docker context `{}` names this address: start the Engine there, \
                 or choose another context (--context, DOCKER_CONTEXT, `docker context use`)",
                self.context.as_deref().unwrap_or_default()
            ),
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

/// The `currentContext` of Docker's config.json, if it names one.
fn current_context(env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let text = std::fs::read_to_string(config_dir(env).join("config.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value
        .get("currentContext")?
        .as_str()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
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
    #[error("--host and --context name two Engines; give one")]
    #[diagnostic(
        code("stages::engine::bad-address"),
        help("drop --host to use the context, or --context to use the address")
    )]
    HostAndContext,
    #[error(transparent)]
    #[diagnostic(
        code("stages::engine::bad-address"),
        help("list contexts with `docker context ls`; `default` is the local socket")
    )]
    Context(ContextError),
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
            ConnectError::UnsupportedAddress { .. }
            | ConnectError::HostAndContext
            | ConnectError::Context(_) => codes::BAD_ADDRESS,
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

    fn env_with(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn contexts_are_chosen_in_the_cli_order() {
        use crate::engine::docker_context::write_context;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().to_string_lossy().into_owned();
        write_context(dir.path(), "current", "unix:///run/current.sock", false);
        write_context(dir.path(), "fromenv", "unix:///run/fromenv.sock", false);
        write_context(dir.path(), "remote", "tcp://10.0.0.9:2376", true);
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext": "current"}"#,
        )
        .unwrap();
        let base = vec![("DOCKER_CONFIG", config.clone())];
        let url =
            |flag: Option<&str>, context: Option<&str>, extra: Vec<(&'static str, String)>| {
                let mut pairs = base.clone();
                pairs.extend(extra);
                EngineAddress::from_sources_with(flag, context, env_with(pairs))
                    .map(|a| a.url)
                    .unwrap()
            };
        assert_eq!(url(None, None, vec![]), "unix:///run/current.sock");
        let context_env = vec![("DOCKER_CONTEXT", "fromenv".to_owned())];
        assert_eq!(
            url(None, None, context_env.clone()),
            "unix:///run/fromenv.sock"
        );
        let mut both = context_env.clone();
        both.push(("DOCKER_HOST", "tcp://1.2.3.4:2375".to_owned()));
        assert_eq!(url(None, None, both.clone()), "tcp://1.2.3.4:2375");
        assert_eq!(
            url(None, Some("fromenv"), both.clone()),
            "unix:///run/fromenv.sock"
        );
        assert_eq!(url(Some("unix:///x.sock"), None, both), "unix:///x.sock");
        assert_eq!(url(None, Some("default"), vec![]), DEFAULT_ADDRESS);
        let remote =
            EngineAddress::from_sources_with(None, Some("remote"), env_with(base.clone())).unwrap();
        assert_eq!(remote.origin, AddressOrigin::Context);
        let Transport::Tls { cert_dir } = remote.transport else {
            panic!("TLS material of the context is used");
        };
        assert!(cert_dir.join("ca.pem").is_file());
        assert!(matches!(
            EngineAddress::from_sources_with(
                Some("unix:///x"),
                Some("remote"),
                env_with(base.clone())
            ),
            Err(ConnectError::HostAndContext)
        ));
        let error =
            EngineAddress::from_sources_with(None, Some("nope"), env_with(base)).unwrap_err();
        assert!(
            error.to_string().contains("`nope` does not exist"),
            "{error}"
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
