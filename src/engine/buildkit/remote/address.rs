//! Where a BuildKit builder listens, as `--builder` and `BUILDKIT_HOST`
//! spell it (buildctl's forms): `tcp://host:port` (TLS when certificate
//! files are given), `unix:///path`, and `docker-container://NAME` (a
//! buildkitd inside a container, reached through the Engine).

use std::path::PathBuf;

/// The certificate files of a TLS connection to a builder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// The authority that signed the builder's certificate.
    pub ca: Option<PathBuf>,
    /// The client's own certificate and key (both or neither).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }
}

/// A builder's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuilderAddress {
    Tcp {
        /// `host:port`, as typed.
        authority: String,
        tls: Option<TlsFiles>,
    },
    Unix(PathBuf),
    /// A container's name or id.
    DockerContainer(String),
}

impl std::fmt::Display for BuilderAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuilderAddress::Tcp { authority, .. } => write!(f, "tcp://{authority}"),
            BuilderAddress::Unix(path) => write!(f, "unix://{}", path.display()),
            BuilderAddress::DockerContainer(name) => write!(f, "docker-container://{name}"),
        }
    }
}

/// Why an address cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("builder `{0}`: write tcp://HOST:PORT, unix:///PATH or docker-container://NAME")]
    Unknown(String),
    #[error("builder `{0}`: tcp:// needs a host and a port")]
    NoPort(String),
    #[error("builder `{0}`: TLS files are for tcp:// builders only")]
    TlsOnUnix(String),
    #[error("builder `{address}`: --builder-tls-cert and --builder-tls-key go together")]
    HalfClientCertificate { address: String },
    #[error("builder `{address}`: TLS file {path} cannot be read")]
    Unreadable { address: String, path: PathBuf },
}

/// Parses one address; `tls` applies to tcp:// addresses.
pub fn parse_address(text: &str, tls: &TlsFiles) -> Result<BuilderAddress, AddressError> {
    let text = text.trim();
    if let Some(name) = text.strip_prefix("docker-container://") {
        let name = name.trim_end_matches('/');
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            return Err(AddressError::Unknown(text.to_owned()));
        }
        if !tls.is_empty() {
            return Err(AddressError::TlsOnUnix(text.to_owned()));
        }
        return Ok(BuilderAddress::DockerContainer(name.to_owned()));
    }
    if let Some(path) = text.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(AddressError::Unknown(text.to_owned()));
        }
        if !tls.is_empty() {
            return Err(AddressError::TlsOnUnix(text.to_owned()));
        }
        return Ok(BuilderAddress::Unix(PathBuf::from(path)));
    }
    let Some(authority) = text.strip_prefix("tcp://") else {
        return Err(AddressError::Unknown(text.to_owned()));
    };
    let authority = authority.trim_end_matches('/');
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !has_port {
        return Err(AddressError::NoPort(text.to_owned()));
    }
    if tls.cert.is_some() != tls.key.is_some() {
        return Err(AddressError::HalfClientCertificate {
            address: text.to_owned(),
        });
    }
    for path in [&tls.ca, &tls.cert, &tls.key].into_iter().flatten() {
        if !path.is_file() {
            return Err(AddressError::Unreadable {
                address: text.to_owned(),
                path: path.clone(),
            });
        }
    }
    Ok(BuilderAddress::Tcp {
        authority: authority.to_owned(),
        tls: (!tls.is_empty()).then(|| tls.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_buildctl_forms() {
        let none = TlsFiles::default();
        assert_eq!(
            parse_address("tcp://127.0.0.1:1234", &none).unwrap(),
            BuilderAddress::Tcp {
                authority: "127.0.0.1:1234".into(),
                tls: None
            }
        );
        assert_eq!(
            parse_address("unix:///run/buildkit/buildkitd.sock", &none).unwrap(),
            BuilderAddress::Unix("/run/buildkit/buildkitd.sock".into())
        );
        assert!(matches!(
            parse_address("tcp://host", &none),
            Err(AddressError::NoPort(_))
        ));
        assert!(matches!(
            parse_address("ssh://host", &none),
            Err(AddressError::Unknown(_))
        ));
        assert_eq!(
            parse_address("docker-container://buildx_buildkit_x0", &none).unwrap(),
            BuilderAddress::DockerContainer("buildx_buildkit_x0".into())
        );
        assert!(matches!(
            parse_address("docker-container://", &none),
            Err(AddressError::Unknown(_))
        ));
        let half = TlsFiles {
            cert: Some("/nonexistent/cert.pem".into()),
            ..TlsFiles::default()
        };
        assert!(matches!(
            parse_address("tcp://h:1", &half),
            Err(AddressError::HalfClientCertificate { .. })
        ));
        let missing = TlsFiles {
            ca: Some("/nonexistent/ca.pem".into()),
            ..TlsFiles::default()
        };
        assert!(matches!(
            parse_address("tcp://h:1", &missing),
            Err(AddressError::Unreadable { .. })
        ));
        assert!(matches!(
            parse_address("unix:///s", &missing),
            Err(AddressError::TlsOnUnix(_))
        ));
    }
}
