//! Image references as the Docker CLI reads them: `[registry/]path[:tag][@digest]`,
//! where the first part is a registry only when it holds a `.` or a `:` or
//! is `localhost`; without one the image is on Docker Hub, and a one-part
//! path there lives under `library/`.

use std::fmt;

/// Docker Hub as the Engine names it in references.
pub const HUB_DOMAIN: &str = "docker.io";
/// The key under which the Docker CLI keeps Docker Hub's credentials.
pub const HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (`docker.io` for Docker Hub), with its port.
    pub registry: String,
    /// The repository path inside the registry (`library/alpine`).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `text`; `None` when it is not an image reference.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let (algorithm, hex) = digest.split_once(':')?;
                if algorithm.is_empty() || hex.is_empty() {
                    return None;
                }
                (rest, Some(digest.to_owned()))
            }
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (&rest[..at], Some(rest[at + 1..].to_owned()))
            }
            None => (rest, None),
        };
        if name.is_empty() || tag.as_deref() == Some("") {
            return None;
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ => (HUB_DOMAIN.to_owned(), name.to_owned()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => HUB_DOMAIN.to_owned(),
            _ => registry,
        };
        let path = if registry == HUB_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let valid_path = path.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
        valid_path.then_some(Self {
            registry,
            path,
            tag,
            digest,
        })
    }

    /// The reference with `latest` when it names neither tag nor digest
    /// (the Engine would otherwise pull every tag of the repository).
    pub fn pinned(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(_), _) | (None, Some(_)) => self.to_string(),
            (None, None) => format!("{}:latest", self.repository()),
        }
    }

    /// `registry/path`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    pub fn is_docker_hub(&self) -> bool {
        self.registry == HUB_DOMAIN
    }

    /// The key of this registry in Docker's client configuration.
    pub fn auth_key(&self) -> &str {
        if self.is_docker_hub() {
            HUB_AUTH_KEY
        } else {
            &self.registry
        }
    }

    /// The registry as `docker login` takes it.
    pub fn login_name(&self) -> &str {
        if self.is_docker_hub() {
            "docker.io"
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_images_are_normalized_like_the_cli() {
        let r = ImageRef::parse("alpine:3.20").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.path, "library/alpine");
        assert_eq!(r.tag.as_deref(), Some("3.20"));
        assert_eq!(r.auth_key(), HUB_AUTH_KEY);
        assert_eq!(
            ImageRef::parse("me/app").unwrap().pinned(),
            "docker.io/me/app:latest"
        );
        assert_eq!(
            ImageRef::parse("index.docker.io/me/app:1")
                .unwrap()
                .registry,
            "docker.io"
        );
    }

    #[test]
    fn a_first_part_with_a_port_or_dot_is_a_registry() {
        let r = ImageRef::parse("127.0.0.1:5000/team/base:v1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.path, "team/base");
        assert_eq!(r.auth_key(), "127.0.0.1:5000");
        assert_eq!(r.pinned(), "127.0.0.1:5000/team/base:v1");
        let r = ImageRef::parse("localhost/x").unwrap();
        assert_eq!(r.registry, "localhost");
        let r = ImageRef::parse("ghcr.io/o/r@sha256:abc").unwrap();
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(r.pinned(), "ghcr.io/o/r@sha256:abc");
    }

    #[test]
    fn bad_references_are_refused() {
        for bad in [
            "",
            "a b",
            "app:",
            "Upper/x",
            "x@sha256",
            "a//b",
            "reg:5000/",
        ] {
            assert_eq!(ImageRef::parse(bad), None, "{bad}");
        }
    }
}
