//! The index of a target whose platforms were built as parts on several
//! builders, assembled from the manifests the parts pushed: one entry per
//! manifest with its digest, size, media type and platform. The platform
//! is the image config's, checked against the platform the part was
//! built for (a disagreement fails: the index would lie about the
//! image). The index is of the parts' media type family: a Docker
//! manifest list over Docker manifests, an OCI index over OCI ones, and
//! an OCI index when they are mixed. Attestation manifests BuildKit may
//! add are carried as they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::engine::registry::api::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

/// The annotation BuildKit marks attestation manifests with.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// A descriptor as an index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub platform: Option<Platform>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// An attestation (provenance, SBOM) rather than an image.
    pub fn is_attestation(&self) -> bool {
        self.annotations
            .as_ref()
            .and_then(|a| a.get(REFERENCE_TYPE))
            .is_some_and(|kind| kind == "attestation-manifest")
    }
}

/// An index entry's platform, with the fields an image config gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(
        rename = "os.version",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/architecture[/variant]`, as BuildKit spells platforms.
    pub fn text(&self) -> String {
        match &self.variant {
            Some(variant) => format!("{}/{}/{variant}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// A requested `os/architecture[/variant]`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut fields = text.trim().split('/');
        let os = fields.next().filter(|f| !f.is_empty())?;
        let architecture = fields.next().filter(|f| !f.is_empty())?;
        let variant = fields.next().filter(|f| !f.is_empty());
        if fields.next().is_some() {
            return None;
        }
        Some(Self {
            architecture: architecture.to_ascii_lowercase(),
            os: os.to_ascii_lowercase(),
            os_version: None,
            variant: variant.map(str::to_ascii_lowercase),
        })
    }

    /// Whether this platform is what `requested` asked for: the same os
    /// and architecture, and the same variant when one was asked
    /// (`arm64` and `arm64/v8` are one platform, as BuildKit has them).
    fn satisfies(&self, requested: &Platform) -> bool {
        let architecture = |a: &str| match a {
            "x86_64" | "x86-64" => "amd64".to_owned(),
            "aarch64" => "arm64".to_owned(),
            other => other.to_ascii_lowercase(),
        };
        let variant = |p: &Platform| {
            let arch = architecture(&p.architecture);
            match p.variant.as_deref() {
                Some("v8") if arch == "arm64" => None,
                other => other.map(str::to_ascii_lowercase),
            }
        };
        self.os.eq_ignore_ascii_case(&requested.os)
            && architecture(&self.architecture) == architecture(&requested.architecture)
            && (requested.variant.is_none() || variant(self) == variant(requested))
    }
}

/// One manifest a part pushed, read back from the registry.
#[derive(Debug, Clone)]
pub struct PartManifest {
    /// The platform the part was built for (`linux/arm64`).
    pub requested: String,
    /// Its digest, size and media type; the platform and annotations
    /// when BuildKit wrapped the part's manifest in an index of its own.
    pub descriptor: Descriptor,
    /// The image config; `None` for an attestation.
    pub config: Option<Vec<u8>>,
}

/// An index, as it is put in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledIndex {
    pub media_type: String,
    pub body: Vec<u8>,
    /// `sha256:` of `body`.
    pub digest: String,
}

#[derive(Serialize)]
struct IndexDocument<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    manifests: &'a [Descriptor],
}

/// The subset of an image config that names its platform.
#[derive(Deserialize)]
struct ConfigPlatform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(rename = "os.version", default)]
    os_version: Option<String>,
    #[serde(default)]
    variant: Option<String>,
}

/// The index over every part's manifests, in the parts' order.
pub fn assemble_index(manifests: &[PartManifest]) -> Result<AssembledIndex, String> {
    let mut entries = Vec::new();
    for manifest in manifests {
        entries.push(entry_for(manifest)?);
    }
    let mut seen: Vec<String> = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_attestation()) {
        let platform = entry
            .platform
            .as_ref()
            .map(Platform::text)
            .unwrap_or_default();
        if seen.contains(&platform) {
            return Err(format!(
                "two parts built an image for {platform}; an index holds one per platform"
            ));
        }
        seen.push(platform);
    }
    if seen.is_empty() {
        return Err("the parts pushed no image manifest".to_owned());
    }
    let media_type = index_media_type(&entries)?;
    let body = serde_json::to_vec(&IndexDocument {
        schema_version: 2,
        media_type,
        manifests: &entries,
    })
    .map_err(|e| format!("cannot write the index: {e}"))?;
    let digest = sha256_digest(&body);
    Ok(AssembledIndex {
        media_type: media_type.to_owned(),
        body,
        digest,
    })
}

/// `sha256:HEX` of `bytes`.
fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The entry of one manifest, its platform checked.
fn entry_for(manifest: &PartManifest) -> Result<Descriptor, String> {
    let descriptor = &manifest.descriptor;
    if descriptor.is_attestation() {
        return Ok(descriptor.clone());
    }
    let requested = Platform::parse(&manifest.requested)
        .ok_or_else(|| format!("`{}` is not a platform", manifest.requested))?;
    let config = match &manifest.config {
        Some(bytes) => config_platform(bytes).map_err(|e| {
            format!(
                "the image config of {} ({}): {e}",
                manifest.requested, descriptor.digest
            )
        })?,
        None => None,
    };
    for (source, platform) in [
        ("image config", &config),
        ("builder's index", &descriptor.platform),
    ] {
        if let Some(platform) = platform
            && !platform.satisfies(&requested)
        {
            return Err(format!(
                "the part built for {} pushed an image whose {source} says {} ({}); the index would name the wrong platform",
                manifest.requested,
                platform.text(),
                descriptor.digest
            ));
        }
    }
    let platform = config
        .or_else(|| descriptor.platform.clone())
        .unwrap_or(requested);
    Ok(Descriptor {
        platform: Some(platform),
        ..descriptor.clone()
    })
}

/// The config's platform, `None` when it names none.
fn config_platform(bytes: &[u8]) -> Result<Option<Platform>, String> {
    let config: ConfigPlatform =
        serde_json::from_slice(bytes).map_err(|e| format!("not an image config: {e}"))?;
    if config.os.is_empty() || config.architecture.is_empty() {
        return Ok(None);
    }
    Ok(Some(Platform {
        architecture: config.architecture,
        os: config.os,
        os_version: config.os_version.filter(|v| !v.is_empty()),
        variant: config.variant.filter(|v| !v.is_empty()),
    }))
}

/// A Docker manifest list over Docker manifests only; otherwise an OCI
/// index, which may name both.
fn index_media_type(entries: &[Descriptor]) -> Result<&'static str, String> {
    let mut docker = false;
    let mut oci = false;
    for entry in entries {
        match entry.media_type.as_str() {
            DOCKER_MANIFEST => docker = true,
            OCI_MANIFEST => oci = true,
            other => {
                return Err(format!(
                    "manifest {} has media type `{other}`, which an index of platforms cannot hold",
                    entry.digest
                ));
            }
        }
    }
    Ok(if docker && !oci {
        DOCKER_LIST
    } else {
        OCI_INDEX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(requested: &str, media_type: &str, digest: &str, config: &str) -> PartManifest {
        PartManifest {
            requested: requested.into(),
            descriptor: Descriptor {
                media_type: media_type.into(),
                digest: digest.into(),
                size: 500,
                platform: None,
                annotations: None,
            },
            config: Some(config.as_bytes().to_vec()),
        }
    }

    fn document(index: &AssembledIndex) -> serde_json::Value {
        serde_json::from_slice(&index.body).expect("the index is JSON")
    }

    #[test]
    fn docker_manifests_make_a_docker_list_with_their_config_platforms() {
        let parts = [
            image(
                "linux/amd64",
                DOCKER_MANIFEST,
                "sha256:aa",
                r#"{"architecture":"amd64","os":"linux","rootfs":{}}"#,
            ),
            image(
                "linux/arm/v7",
                DOCKER_MANIFEST,
                "sha256:bb",
                r#"{"architecture":"arm","os":"linux","variant":"v7"}"#,
            ),
        ];
        let index = assemble_index(&parts).expect("an index");
        assert_eq!(index.media_type, DOCKER_LIST);
        assert_eq!(index.digest, sha256_digest(&index.body));
        let value = document(&index);
        assert_eq!(value["schemaVersion"], 2);
        assert_eq!(value["mediaType"], DOCKER_LIST);
        let entries = value["manifests"].as_array().expect("manifests");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["digest"], "sha256:aa");
        assert_eq!(entries[0]["size"], 500);
        assert_eq!(entries[0]["mediaType"], DOCKER_MANIFEST);
        assert_eq!(
            entries[0]["platform"],
            serde_json::json!({"architecture": "amd64", "os": "linux"})
        );
        assert_eq!(entries[1]["platform"]["variant"], "v7");
    }

    #[test]
    fn oci_or_mixed_manifests_make_an_oci_index() {
        let amd = r#"{"architecture":"amd64","os":"linux"}"#;
        let arm = r#"{"architecture":"arm64","os":"linux"}"#;
        let oci = [
            image("linux/amd64", OCI_MANIFEST, "sha256:aa", amd),
            image("linux/arm64", OCI_MANIFEST, "sha256:bb", arm),
        ];
        assert_eq!(assemble_index(&oci).expect("oci").media_type, OCI_INDEX);
        let mixed = [
            image("linux/amd64", DOCKER_MANIFEST, "sha256:aa", amd),
            image("linux/arm64", OCI_MANIFEST, "sha256:bb", arm),
        ];
        let index = assemble_index(&mixed).expect("mixed");
        assert_eq!(index.media_type, OCI_INDEX);
        assert_eq!(document(&index)["mediaType"], OCI_INDEX);
        let nested = [image("linux/amd64", OCI_INDEX, "sha256:aa", amd)];
        assert!(assemble_index(&nested).is_err());
    }

    #[test]
    fn a_config_of_another_platform_fails_and_names_both() {
        let parts = [image(
            "linux/arm64",
            DOCKER_MANIFEST,
            "sha256:aa",
            r#"{"architecture":"amd64","os":"linux"}"#,
        )];
        let error = assemble_index(&parts).expect_err("the platforms disagree");
        assert!(error.contains("linux/arm64"), "{error}");
        assert!(error.contains("linux/amd64"), "{error}");
    }

    #[test]
    fn the_requested_platform_fills_in_for_a_config_without_one() {
        let mut part = image("linux/arm64/v8", OCI_MANIFEST, "sha256:aa", "{}");
        let index = assemble_index(std::slice::from_ref(&part)).expect("an index");
        assert_eq!(
            document(&index)["manifests"][0]["platform"],
            serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
        );
        // arm64 with or without v8 is one platform.
        part.config = Some(br#"{"architecture":"arm64","os":"linux"}"#.to_vec());
        assert!(assemble_index(&[part]).is_ok());
    }

    #[test]
    fn attestations_are_carried_and_platforms_counted_once() {
        let amd = r#"{"architecture":"amd64","os":"linux"}"#;
        let attestation = PartManifest {
            requested: "linux/amd64".into(),
            descriptor: Descriptor {
                media_type: OCI_MANIFEST.into(),
                digest: "sha256:cc".into(),
                size: 30,
                platform: Some(Platform {
                    architecture: "unknown".into(),
                    os: "unknown".into(),
                    os_version: None,
                    variant: None,
                }),
                annotations: Some(BTreeMap::from([
                    (REFERENCE_TYPE.to_owned(), "attestation-manifest".to_owned()),
                    (
                        "vnd.docker.reference.digest".to_owned(),
                        "sha256:aa".to_owned(),
                    ),
                ])),
            },
            config: None,
        };
        let parts = [
            image("linux/amd64", OCI_MANIFEST, "sha256:aa", amd),
            attestation.clone(),
        ];
        let index = assemble_index(&parts).expect("an index");
        let entries = document(&index)["manifests"].clone();
        assert_eq!(entries[1]["platform"]["os"], "unknown");
        assert_eq!(
            entries[1]["annotations"]["vnd.docker.reference.digest"],
            "sha256:aa"
        );
        let twice = [
            image("linux/amd64", OCI_MANIFEST, "sha256:aa", amd),
            image("linux/amd64", OCI_MANIFEST, "sha256:bb", amd),
        ];
        assert!(assemble_index(&twice).is_err());
        assert!(assemble_index(&[attestation]).is_err());
    }

    #[test]
    fn a_builder_index_platform_is_checked_too() {
        let mut part = image(
            "linux/amd64",
            OCI_MANIFEST,
            "sha256:aa",
            r#"{"architecture":"amd64","os":"linux"}"#,
        );
        part.descriptor.platform = Platform::parse("linux/s390x");
        assert!(assemble_index(&[part]).is_err());
    }
}
