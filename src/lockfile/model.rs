//! What a lock holds. Entries are kept sorted by their key, so that the
//! file's text depends only on its content.

use crate::located::Span;

/// Where an image's digest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The registry answered for the tag.
    Registry,
    /// The registry could not be reached; the Engine's copy of the tag
    /// (its RepoDigests) was taken instead.
    Engine,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Registry => "registry",
            Resolution::Engine => "engine",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "registry" => Some(Resolution::Registry),
            "engine" => Some(Resolution::Engine),
            _ => None,
        }
    }
}

/// An image reference pinned to a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedImage {
    /// The reference as stages.toml reads it (build args expanded).
    pub reference: String,
    /// The digest the tag resolved to: an index's when the tag names one.
    pub digest: String,
    /// The platforms the registry offers under that digest (`os/arch[/variant]`).
    pub platforms: Vec<String>,
    /// The manifest digest of each platform the project builds, by
    /// platform (`os/arch[/variant]`), sorted: for an index, read from it;
    /// for a single manifest, its one platform and the digest itself.
    pub manifests: Vec<(String, String)>,
    pub resolution: Resolution,
    /// Where the entry is in the lock's text (`0..0` when made in code).
    pub span: Span,
}

/// A URL an `add` downloads, with the checksum of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedUrl {
    pub url: String,
    /// `sha256:<hex>`.
    pub checksum: String,
    pub span: Span,
}

/// A git repository an `add` reads, with the commit its ref resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedGit {
    /// The source as stages.toml writes it (`https://host/repo.git#ref`).
    pub source: String,
    /// The full commit hash.
    pub commit: String,
    pub span: Span,
}

/// A whole `stages.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lock {
    pub images: Vec<LockedImage>,
    pub urls: Vec<LockedUrl>,
    pub git: Vec<LockedGit>,
}

impl Lock {
    pub fn image(&self, reference: &str) -> Option<&LockedImage> {
        self.images.iter().find(|i| i.reference == reference)
    }

    pub fn url(&self, url: &str) -> Option<&LockedUrl> {
        self.urls.iter().find(|u| u.url == url)
    }

    pub fn git(&self, source: &str) -> Option<&LockedGit> {
        self.git.iter().find(|g| g.source == source)
    }

    /// Every list in its stable order.
    pub fn sort(&mut self) {
        self.images.sort_by(|a, b| a.reference.cmp(&b.reference));
        self.urls.sort_by(|a, b| a.url.cmp(&b.url));
        self.git.sort_by(|a, b| a.source.cmp(&b.source));
    }

    /// Is `text` a digest as the lock writes it: `sha256:` and 64 hex digits?
    pub fn is_digest(text: &str) -> bool {
        text.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
    }

    /// Is `text` a full git commit hash (SHA-1 or SHA-256, lower case)?
    pub fn is_commit(text: &str) -> bool {
        (text.len() == 40 || text.len() == 64)
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}
