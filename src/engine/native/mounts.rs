//! `RUN --mount` as Engine mounts: `cache` → a named volume per cache id
//! (`sharing=locked` and `private` serialise its users), `bind` → a
//! read-only host directory holding the path from a stage, an image or the
//! context, `tmpfs` → a tmpfs, `secret` → the `--secret` file, mounted for
//! that step only and never committed. `ssh` is refused before the build.
//!
//! Host directories need an Engine on this machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::build::{NativeBuild, StageOutput};
use super::cache_key::image_path_input;
use super::copy::{CopyRequest, plan_copy};
use super::engine_api::{MountSpec, StepEngine};
use super::owner::Owner;
use super::step_common::{StageState, StepRef, idle_container, with_container};
use crate::config::model::{Mount, MountKind};
use crate::located::Located;

/// Label on the volumes that back cache mounts.
pub const CACHE_VOLUME_LABEL: &str = "dev.stages.cache-mount";

/// Mounts ready for one RUN.
#[derive(Default)]
pub struct PreparedMounts {
    pub specs: Vec<MountSpec>,
    /// Locks to hold while the RUN runs.
    pub locks: Vec<Arc<tokio::sync::Mutex<()>>>,
    /// Secrets exposed as environment variables (`env=`).
    pub secret_env: Vec<(String, String)>,
    /// The same secrets: variable name, the file its value is read from.
    pub secret_env_files: Vec<(String, PathBuf)>,
}

/// Where a bind mount reads from.
enum BindSource {
    Image(String),
    Context,
}

fn bind_source(
    mount: &Mount,
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<BindSource, String> {
    match &mount.from {
        None => Ok(BindSource::Context),
        Some(from) => match inputs.get(&from.value) {
            Some(output) => Ok(BindSource::Image(output.image.clone())),
            None => Err(format!(
                "bind mounts from an image ({}) are not supported by the native back end; \
                 use a stage",
                from.value
            )),
        },
    }
}

fn target_of(mount: &Mount) -> Result<String, String> {
    mount
        .target
        .clone()
        .ok_or_else(|| format!("--mount=type={} needs a target", mount.kind.as_str()))
}

/// What the mounts add to the step's cache key: the content of bind
/// sources (cache, tmpfs and secret mounts do not count, as in BuildKit).
pub fn key_inputs<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    at: &StepRef,
    mounts: &[Located<Mount>],
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<Vec<String>, super::build::StageFailure> {
    let mut keys = Vec::new();
    for mount in mounts.iter().map(|m| &m.value) {
        if !mount.kind.is(MountKind::Bind) {
            continue;
        }
        let source = mount.source.clone().unwrap_or_else(|| "/".to_owned());
        match bind_source(mount, inputs).map_err(|m| at.fail(state, m))? {
            BindSource::Image(image) => keys.push(image_path_input(&image, &source)),
            BindSource::Context => {
                let plan = plan_context(build, &source).map_err(|m| at.fail(state, m))?;
                keys.push(format!("context:{}", plan.digest));
            }
        }
    }
    Ok(keys)
}

fn plan_context<E: StepEngine>(
    build: &NativeBuild<E>,
    source: &str,
) -> Result<super::copy::CopyPlan, String> {
    let sources = [source.to_owned()];
    let request = CopyRequest {
        context: &build.options.context_dir,
        sources: &sources,
        dest: "/mount/",
        workdir: "/",
        owner: Owner::default(),
        chmod: None,
        exclude: &[],
        filter: &*build.filter,
        extract_archives: false,
        dest_is_dir: true,
        cancel: None,
    };
    plan_copy(&request).map_err(|e| e.to_string())
}

/// A fresh directory under the build's workspace.
fn fresh_dir<E: StepEngine>(build: &NativeBuild<E>, hint: &str) -> Result<PathBuf, String> {
    let digest = hex::encode(Sha256::digest(hint.as_bytes()));
    let mut dir = build.workspace.path().join(&digest[..16]);
    let mut n = 0;
    while dir.exists() {
        n += 1;
        dir = build
            .workspace
            .path()
            .join(format!("{}-{n}", &digest[..16]));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn unpack(tar: &[u8], into: &Path) -> Result<(), String> {
    tar::Archive::new(tar)
        .unpack(into)
        .map_err(|e| format!("unpacking a bind mount into {}: {e}", into.display()))
}

/// Prepare the mounts of one RUN (after a cache miss).
pub async fn prepare<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    at: &StepRef,
    mounts: &[Located<Mount>],
    inputs: &BTreeMap<String, StageOutput>,
) -> Result<PreparedMounts, super::build::StageFailure> {
    let mut prepared = PreparedMounts::default();
    for mount in mounts.iter().map(|m| &m.value) {
        let fail = |message: String| at.fail(state, message);
        let Some(kind) = mount.kind.known() else {
            return Err(fail(format!(
                "the mount type `{}` was not expanded",
                mount.kind.as_str()
            )));
        };
        match kind {
            MountKind::Cache => {
                let target = target_of(mount).map_err(fail)?;
                let id = mount.id.clone().unwrap_or_else(|| target.clone());
                let digest = hex::encode(Sha256::digest(id.as_bytes()));
                let name = format!("stages-cache-{}", &digest[..16]);
                let labels = BTreeMap::from([(CACHE_VOLUME_LABEL.to_owned(), id.clone())]);
                build
                    .engine
                    .create_volume(&name, &labels)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if matches!(mount.sharing.as_deref(), Some("locked" | "private")) {
                    prepared.locks.push(build.cache_lock(&name));
                }
                prepared.specs.push(MountSpec::Volume {
                    name,
                    target,
                    readonly: mount.readonly.unwrap_or(false),
                });
            }
            MountKind::Bind => {
                let target = target_of(mount).map_err(fail)?;
                let source = mount.source.clone().unwrap_or_else(|| "/".to_owned());
                let dir = fresh_dir(build, &format!("{target}{source}")).map_err(fail)?;
                let host = match bind_source(mount, inputs).map_err(fail)? {
                    BindSource::Context => {
                        let plan = plan_context(build, &source).map_err(fail)?;
                        let tar = plan.tar.to_bytes().map_err(|e| fail(e.to_string()))?;
                        unpack(&tar, &dir).map_err(fail)?;
                        dir.join("mount")
                    }
                    BindSource::Image(image) => {
                        let path = super::copy::absolute_dest("/", &source);
                        let spec = idle_container(&image, build.container_labels());
                        let tar = with_container(build, spec, |id| async move {
                            build.engine.download(&id, &path).await
                        })
                        .await
                        .map_err(|e| fail(e.to_string()))?;
                        unpack(&tar, &dir).map_err(fail)?;
                        let name = source
                            .trim_end_matches('/')
                            .rsplit('/')
                            .next()
                            .unwrap_or("");
                        if name.is_empty() { dir } else { dir.join(name) }
                    }
                };
                prepared.specs.push(MountSpec::Bind {
                    source: host.display().to_string(),
                    target,
                    // Writes to a bind mount never reach the image, nor the host copy's source.
                    readonly: mount.readonly.unwrap_or(true),
                });
            }
            MountKind::Tmpfs => {
                let target = target_of(mount).map_err(fail)?;
                let size = match &mount.size {
                    Some(text) => Some(
                        parse_size(text)
                            .ok_or_else(|| fail(format!("invalid tmpfs size {text:?}")))?,
                    ),
                    None => None,
                };
                prepared.specs.push(MountSpec::Tmpfs { target, size });
            }
            MountKind::Secret => {
                let id = mount
                    .id
                    .clone()
                    .or_else(|| {
                        mount
                            .target
                            .as_ref()
                            .and_then(|t| t.rsplit('/').next().map(str::to_owned))
                    })
                    .ok_or_else(|| fail("a secret mount needs an id".to_owned()))?;
                let Some(file) = build.options.secrets.get(&id) else {
                    if mount.required.unwrap_or(false) {
                        return Err(fail(format!(
                            "secret {id} is required; pass --secret id={id},src=PATH"
                        )));
                    }
                    continue;
                };
                if let Some(variable) = &mount.env {
                    let value = std::fs::read_to_string(file)
                        .map_err(|e| fail(format!("secret {id} ({}): {e}", file.display())))?;
                    prepared.secret_env.push((variable.clone(), value));
                    prepared
                        .secret_env_files
                        .push((variable.clone(), file.clone()));
                    if mount.target.is_none() {
                        continue;
                    }
                }
                let target = mount
                    .target
                    .clone()
                    .unwrap_or_else(|| format!("/run/secrets/{id}"));
                prepared.specs.push(MountSpec::Bind {
                    source: file.display().to_string(),
                    target,
                    readonly: true,
                });
            }
            MountKind::Ssh => {
                return Err(fail(
                    "--mount=type=ssh is not supported by the native back end".to_owned(),
                ));
            }
        }
    }
    Ok(prepared)
}

/// `64m`, `1g`, `4096` → bytes.
pub fn parse_size(text: &str) -> Option<i64> {
    let text = text.trim().to_lowercase();
    let (number, scale) = match text.trim_end_matches('b').chars().last()? {
        'k' => (&text[..text.find('k')?], 1 << 10),
        'm' => (&text[..text.find('m')?], 1 << 20),
        'g' => (&text[..text.find('g')?], 1 << 30),
        _ => (text.trim_end_matches('b'), 1),
    };
    number.parse::<i64>().ok()?.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("2kb"), Some(2048));
        assert_eq!(parse_size("x"), None);
    }
}
