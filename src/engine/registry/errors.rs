//! What goes wrong with registries, said once and plainly: the image, the
//! registry, and what to do (`docker login <registry>` when access was
//! refused). Messages come from the Engine and never carry credentials.

use super::credentials::CredentialError;
use super::reference::ImageRef;
use super::transfer::TransferError;

/// A pull or push failed, or images are missing under `--pull never`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RegistryError {
    #[error("{count} image{s} the build needs {are} not on the Engine, and --pull never forbids pulling:\n{list}",
        s = if *count == 1 { "" } else { "s" },
        are = if *count == 1 { "is" } else { "are" })]
    #[diagnostic(
        code("stages::registry::missing-image"),
        help("pull or load them first, or build with --pull missing")
    )]
    Missing { count: usize, list: String },
    #[error("registry {registry} refused access to {image}: {message}")]
    #[diagnostic(
        code("stages::registry::denied"),
        help("log in with `docker login {registry}` (credentials are read from {config})")
    )]
    Denied {
        registry: String,
        image: String,
        message: String,
        config: String,
    },
    #[error("cannot {action} {image}: {message}")]
    #[diagnostic(code("stages::registry::failed"))]
    Failed {
        action: &'static str,
        image: String,
        message: String,
    },
    #[error("cannot {action} {image}: registry {registry} sent nothing for {seconds} seconds")]
    #[diagnostic(
        code("stages::registry::timeout"),
        help("check that the registry answers; --registry-timeout sets how long to wait")
    )]
    Silent {
        action: &'static str,
        image: String,
        registry: String,
        seconds: u64,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Credentials(#[from] CredentialError),
    #[error("{count} transfers failed", count = errors.len())]
    #[diagnostic(code("stages::registry::failed"))]
    Several {
        #[related]
        errors: Vec<RegistryError>,
    },
}

impl RegistryError {
    /// One error from several (none is not an error).
    pub fn from_all(mut errors: Vec<RegistryError>) -> Option<RegistryError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(RegistryError::Several { errors }),
        }
    }

    /// The same error, saying which stages needed the image.
    pub fn needed_by(mut self, stages: &[String]) -> RegistryError {
        let note = format!(" (needed by {})", stage_list(stages));
        match &mut self {
            RegistryError::Denied { image, .. }
            | RegistryError::Failed { image, .. }
            | RegistryError::Silent { image, .. } => image.push_str(&note),
            _ => {}
        }
        self
    }

    /// The error for a failed transfer of `image` (`pull` or `push`).
    pub fn of_transfer(
        action: &'static str,
        image: &str,
        error: TransferError,
        config: &str,
    ) -> RegistryError {
        let registry = ImageRef::parse(image)
            .map(|r| r.login_name().to_owned())
            .unwrap_or_else(|| image.to_owned());
        let message = match error {
            TransferError::Silent(idle) => {
                return RegistryError::Silent {
                    action,
                    image: image.to_owned(),
                    registry,
                    seconds: idle.as_secs(),
                };
            }
            TransferError::Reported(message) => message,
            TransferError::Engine(error) => match error.server_message() {
                Some(message) => message.to_owned(),
                None => match std::error::Error::source(&error) {
                    Some(source) => format!("{error}: {source}"),
                    None => error.to_string(),
                },
            },
        };
        let message = message.trim().to_owned();
        if is_denied(&message) {
            RegistryError::Denied {
                registry,
                image: image.to_owned(),
                message,
                config: config.to_owned(),
            }
        } else {
            RegistryError::Failed {
                action,
                image: image.to_owned(),
                message,
            }
        }
    }
}

/// `stage a` or `stages a, b`.
pub fn stage_list(stages: &[String]) -> String {
    let word = if stages.len() == 1 { "stage" } else { "stages" };
    format!("{word} {}", stages.join(", "))
}

/// The Engine's words for a registry's 401 or 403.
fn is_denied(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "access denied",
        "denied: ",
        "requested access to the resource is denied",
        "may require 'docker login'",
        "status code 401",
        "status code 403",
        "401 unauthorized",
        "403 forbidden",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_registry_and_docker_login() {
        let error = RegistryError::of_transfer(
            "pull",
            "127.0.0.1:5000/team/base:v1",
            TransferError::Reported(
                "Head \"http://127.0.0.1:5000/v2/team/base/manifests/v1\": no basic auth credentials"
                    .into(),
            ),
            "/home/u/.docker/config.json",
        );
        let RegistryError::Denied { registry, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(registry, "127.0.0.1:5000");
        let help = miette::Diagnostic::help(&error).unwrap().to_string();
        assert!(help.contains("docker login 127.0.0.1:5000"), "{help}");
        let other = RegistryError::of_transfer(
            "pull",
            "x:1",
            TransferError::Reported("manifest unknown".into()),
            "",
        );
        assert!(matches!(other, RegistryError::Failed { .. }));
    }
}
