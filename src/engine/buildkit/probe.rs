//! Whether the Engine offers BuildKit, for `--backend auto`: a Linux
//! Docker Engine speaking API 1.39 or later (where the session endpoint
//! and `version=2` builds are part of the API), reachable over a unix
//! socket or plain TCP. Podman answers the Docker API without BuildKit.

use super::transport::Endpoint;
use crate::engine::client::DockerEngine;
use crate::engine::connection::parse_api_version;

/// The first API version with BuildKit sessions outside experimental mode.
const MIN_API: (usize, usize) = (1, 39);

/// What the Engine said about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineFacts {
    pub os: String,
    pub api_version: String,
    pub component_names: Vec<String>,
    pub address: String,
}

/// `Ok` when BuildKit can be used, else why not.
pub fn buildkit_available(facts: &EngineFacts) -> Result<(), String> {
    Endpoint::from_address(&facts.address).map_err(|e| e.to_string())?;
    if !facts.os.eq_ignore_ascii_case("linux") {
        return Err(format!("the Engine runs on {}, not Linux", facts.os));
    }
    if let Some(name) = facts
        .component_names
        .iter()
        .find(|n| n.to_ascii_lowercase().contains("podman"))
    {
        return Err(format!("the Engine is {name}, which has no BuildKit"));
    }
    let version = parse_api_version(&facts.api_version)
        .map(|v| (v.major_version, v.minor_version))
        .ok_or_else(|| {
            format!(
                "the Engine's API version `{}` cannot be read",
                facts.api_version
            )
        })?;
    if version < MIN_API {
        return Err(format!(
            "the Engine speaks API {}, BuildKit sessions need {}.{}",
            facts.api_version, MIN_API.0, MIN_API.1
        ));
    }
    Ok(())
}

/// What the Engine said of itself when it was connected (`GET /version`).
pub fn engine_facts(engine: &DockerEngine) -> EngineFacts {
    let version = engine.system_version();
    EngineFacts {
        os: version.os.clone().unwrap_or_default(),
        api_version: version.api_version.clone().unwrap_or_default(),
        component_names: version
            .components
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect(),
        address: engine.address().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(os: &str, api: &str, components: &[&str], address: &str) -> EngineFacts {
        EngineFacts {
            os: os.into(),
            api_version: api.into(),
            component_names: components.iter().map(|c| c.to_string()).collect(),
            address: address.into(),
        }
    }

    #[test]
    fn buildkit_is_chosen_only_where_it_works() {
        let socket = "unix:///var/run/docker.sock";
        assert!(buildkit_available(&facts("linux", "1.41", &["Engine"], socket)).is_ok());
        assert!(buildkit_available(&facts("linux", "1.38", &["Engine"], socket)).is_err());
        assert!(buildkit_available(&facts("windows", "1.41", &[], socket)).is_err());
        let podman = buildkit_available(&facts("linux", "1.41", &["Podman Engine"], socket));
        assert!(podman.unwrap_err().contains("Podman"));
        assert!(buildkit_available(&facts("linux", "1.41", &[], "https://h:2376")).is_err());
    }
}
