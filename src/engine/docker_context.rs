//! Docker contexts, read as the docker CLI reads them: a context named
//! `NAME` keeps its metadata in
//! `<config dir>/contexts/meta/<sha256 of NAME>/meta.json` (the Engine
//! address under `Endpoints.docker.Host`) and its TLS material in
//! `<config dir>/contexts/tls/<sha256 of NAME>/docker/{ca,cert,key}.pem`.
//! The context `default` is the local socket.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The context that means "no context": the local socket.
pub const DEFAULT_CONTEXT: &str = "default";

/// A context's Docker endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEndpoint {
    pub host: String,
    /// The directory holding the context's `ca.pem`, `cert.pem`, `key.pem`, if any.
    pub tls_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "Endpoints", default)]
    endpoints: Endpoints,
}

#[derive(Deserialize, Default)]
struct Endpoints {
    #[serde(default)]
    docker: Option<DockerEndpoint>,
}

#[derive(Deserialize)]
struct DockerEndpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
}

/// A context could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("Docker context `{name}` does not exist (looked for {})", path.display())]
    NotFound { name: String, path: PathBuf },
    #[error("Docker context `{name}`: {} is not valid ({reason})", path.display())]
    Invalid {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("Docker context `{name}` has no Docker endpoint")]
    NoEndpoint { name: String },
}

/// The directory name the CLI gives a context: the hex SHA-256 of its name.
pub fn context_dir_name(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// The Docker endpoint of context `name` under `config_dir`.
pub fn read_endpoint(config_dir: &Path, name: &str) -> Result<ContextEndpoint, ContextError> {
    let id = context_dir_name(name);
    let path = config_dir
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let text = std::fs::read_to_string(&path).map_err(|_| ContextError::NotFound {
        name: name.to_owned(),
        path: path.clone(),
    })?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| ContextError::Invalid {
        name: name.to_owned(),
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let endpoint = meta
        .endpoints
        .docker
        .ok_or_else(|| ContextError::NoEndpoint {
            name: name.to_owned(),
        })?;
    let host = endpoint
        .host
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| ContextError::NoEndpoint {
            name: name.to_owned(),
        })?;
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&id)
        .join("docker");
    Ok(ContextEndpoint {
        host: host.trim().to_owned(),
        tls_dir: tls_dir.join("ca.pem").is_file().then_some(tls_dir),
    })
}

/// Writes a context the way `docker context create` lays it out.
#[cfg(test)]
pub(crate) fn write_context(config_dir: &Path, name: &str, host: &str, tls: bool) {
    let id = context_dir_name(name);
    let meta = config_dir.join("contexts/meta").join(&id);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
    if tls {
        let dir = config_dir.join("contexts/tls").join(&id).join("docker");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.join(file), "pem").unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_the_sha256_of_the_name() {
        // `printf default | sha256sum`
        assert_eq!(
            context_dir_name("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn endpoint_and_tls_material_are_read() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "tcp://10.1.2.3:2376", true);
        let endpoint = read_endpoint(dir.path(), "remote").unwrap();
        assert_eq!(endpoint.host, "tcp://10.1.2.3:2376");
        assert!(endpoint.tls_dir.unwrap().ends_with("docker"));
        write_context(dir.path(), "plain", "unix:///run/other.sock", false);
        assert_eq!(read_endpoint(dir.path(), "plain").unwrap().tls_dir, None);
        assert!(matches!(
            read_endpoint(dir.path(), "absent"),
            Err(ContextError::NotFound { .. })
        ));
    }
}
