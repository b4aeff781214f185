//! The step cache key and the labels the native back end puts on what it
//! creates.
//!
//! A step's key is the sha256 of: the parent image id, the step's canonical
//! text (after expansion), the effective build args and environment, and a
//! digest of every input (a COPY plan's digest; for COPY from a stage or an
//! image, the source image id and path). The committed image carries it as
//! label `dev.stages.cache-key`, the project's id as `dev.stages.project`,
//! and the tag `stages-cache/<project id>:<key>`; a later build of the same
//! project finding that tag skips the step. The tag keeps the image from
//! being dangling, so `docker image prune` leaves it alone.

use sha2::{Digest, Sha256};

/// Label holding a step's cache key on the image it produced.
pub const CACHE_KEY_LABEL: &str = "dev.stages.cache-key";
/// Label naming the stage a cached image belongs to.
pub const CACHE_STAGE_LABEL: &str = "dev.stages.stage";
/// Label holding the canonical text of the step a cached image ran.
pub const CACHE_STEP_LABEL: &str = "dev.stages.step";
/// Label on every container a build creates: the build's id.
pub const BUILD_LABEL: &str = "dev.stages.build";
/// Label naming the project whose cache holds the image.
pub const CACHE_PROJECT_LABEL: &str = "dev.stages.project";
/// The repository cache tags are in: `stages-cache/<project id>:<key>`.
pub const CACHE_REPOSITORY: &str = "stages-cache";

/// The tag that makes the image of `key` an entry of `project`'s cache.
pub fn cache_tag(project: &str, key: &str) -> String {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    format!("{CACHE_REPOSITORY}/{project}:{hex}")
}

/// `stages-cache/<project>:<hex>` → (project, `sha256:<hex>`).
pub fn parse_cache_tag(tag: &str) -> Option<(&str, String)> {
    let rest = tag.strip_prefix(CACHE_REPOSITORY)?.strip_prefix('/')?;
    let (project, hex) = rest.split_once(':')?;
    (!project.is_empty() && !hex.is_empty()).then(|| (project, format!("sha256:{hex}")))
}

/// Bumped when the meaning of a key changes, so old images stop matching.
const KEY_VERSION: &str = "stages-step-cache-v3";

/// Everything a step's result depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepKeyInput {
    pub parent_image: String,
    pub step_text: String,
    /// Build args the step sees (name, value), in any order.
    pub args: Vec<(String, String)>,
    /// The environment in effect, in image order.
    pub env: Vec<(String, String)>,
    /// Digests of the step's inputs, in the step's order.
    pub inputs: Vec<String>,
}

impl StepKeyInput {
    /// `sha256:<hex>`; every field is length-prefixed so that no two inputs
    /// give the same byte stream.
    pub fn key(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |text: &str| {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        field(KEY_VERSION);
        field(&self.parent_image);
        field(&self.step_text);
        let mut args = self.args.clone();
        args.sort();
        field(&format!("args:{}", args.len()));
        for (name, value) in &args {
            field(name);
            field(value);
        }
        field(&format!("env:{}", self.env.len()));
        for (name, value) in &self.env {
            field(name);
            field(value);
        }
        field(&format!("inputs:{}", self.inputs.len()));
        for input in &self.inputs {
            field(input);
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

/// The input digest of a COPY from another image: its id and the path.
pub fn image_path_input(image_id: &str, path: &str) -> String {
    format!("image:{image_id}:{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> StepKeyInput {
        StepKeyInput {
            parent_image: "sha256:parent".into(),
            step_text: "RUN make".into(),
            args: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
            env: vec![("PATH".into(), "/bin".into())],
            inputs: vec!["digest-1".into()],
        }
    }

    #[test]
    fn every_part_of_the_input_changes_the_key() {
        let key = base().key();
        assert!(key.starts_with("sha256:") && key.len() == 71);
        assert_eq!(base().key(), key, "stable");
        let changes: Vec<fn(&mut StepKeyInput)> = vec![
            |i| i.parent_image = "sha256:other".into(),
            |i| i.step_text = "RUN make all".into(),
            |i| i.args[0].1 = "9".into(),
            |i| {
                i.args.pop();
            },
            |i| i.env.push(("X".into(), "y".into())),
            |i| i.inputs[0] = "digest-2".into(),
            |i| i.inputs.clear(),
        ];
        for (n, change) in changes.iter().enumerate() {
            let mut input = base();
            change(&mut input);
            assert_ne!(input.key(), key, "change {n}");
        }
    }

    #[test]
    fn arg_order_does_not_matter_but_field_boundaries_do() {
        let mut swapped = base();
        swapped.args.reverse();
        assert_eq!(swapped.key(), base().key());

        let mut a = base();
        a.env = vec![("AB".into(), "C".into())];
        let mut b = base();
        b.env = vec![("A".into(), "BC".into())];
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn cache_tags_name_project_and_key_and_read_back() {
        let key = base().key();
        let tag = cache_tag("0123abcd", &key);
        assert!(tag.starts_with("stages-cache/0123abcd:"), "{tag}");
        assert!(tag.len() <= "stages-cache/0123abcd:".len() + 64);
        assert_eq!(parse_cache_tag(&tag), Some(("0123abcd", key)));
        assert_eq!(parse_cache_tag("busybox:latest"), None);
        assert_eq!(parse_cache_tag("stages-cache/:x"), None);
        assert_eq!(parse_cache_tag("stages-cachex/p:x"), None);
    }

    #[test]
    fn image_inputs_name_image_and_path() {
        assert_ne!(
            image_path_input("sha256:a", "/x"),
            image_path_input("sha256:a", "/y")
        );
        assert_ne!(
            image_path_input("sha256:a", "/x"),
            image_path_input("sha256:b", "/x")
        );
    }
}
