//! The Engine primitives step execution needs, as a trait so that unit tests
//! can fake the Engine. The real implementation over bollard is
//! `docker_adapter`; nothing else in `native` calls bollard, and an error
//! from it keeps bollard's error as its source.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::engine::planned_tar::PlannedTar;

/// An Engine operation failed; `operation` names it ("commit", "upload"…),
/// and the bollard error it came from, if any, is its source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct OpError {
    pub operation: &'static str,
    pub message: String,
    /// The Engine answered "no such object".
    pub not_found: bool,
    #[source]
    pub source: Option<std::sync::Arc<bollard::errors::Error>>,
}

/// Equal when they say the same; the source is not compared.
impl PartialEq for OpError {
    fn eq(&self, other: &Self) -> bool {
        self.operation == other.operation
            && self.message == other.message
            && self.not_found == other.not_found
    }
}

impl Eq for OpError {}

impl OpError {
    pub fn new(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            message: message.into(),
            not_found: false,
            source: None,
        }
    }

    pub fn not_found(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            not_found: true,
            ..Self::new(operation, message)
        }
    }

    /// An error of the Engine's client, kept as the source.
    pub fn from_bollard(operation: &'static str, error: bollard::errors::Error) -> Self {
        let not_found = matches!(
            error,
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            }
        );
        Self {
            operation,
            message: error.to_string(),
            not_found,
            source: Some(std::sync::Arc::new(error)),
        }
    }
}

/// An image's configuration, as the native back end tracks and commits it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSettings {
    pub env: Vec<(String, String)>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub workdir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    /// `80/tcp`, `53/udp`.
    pub exposed_ports: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
    pub healthcheck: Option<HealthSettings>,
    pub stop_signal: Option<String>,
    pub onbuild: Vec<String>,
    pub shell: Option<Vec<String>>,
    /// The image's `Author`: not in the container config, and not
    /// inherited from the base (the classic builder starts each stage without one).
    pub author: String,
}

/// A health check in the image config (durations in nanoseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSettings {
    /// `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub test: Vec<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub start_period: Option<i64>,
    pub start_interval: Option<i64>,
    pub retries: Option<i64>,
}

/// What an image inspection tells the native back end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDetails {
    pub id: String,
    pub settings: ImageSettings,
    /// Bytes, with the layers of its parents.
    pub size: i64,
}

/// An image carrying the step-cache label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachedImage {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// Bytes.
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
    /// `name:tag` references.
    pub tags: Vec<String>,
    /// The image it was committed on (empty when none or unknown).
    pub parent: String,
}

/// A mount for one RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSpec {
    Volume {
        name: String,
        target: String,
        readonly: bool,
    },
    /// A host path (the Engine must run on this machine).
    Bind {
        source: String,
        target: String,
        readonly: bool,
    },
    Tmpfs {
        target: String,
        size: Option<i64>,
    },
}

/// What a path in a container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Dir,
    File,
    Symlink,
}

/// A path the container's own layer adds, changes or deletes
/// (`GET /containers/{id}/changes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChange {
    pub path: String,
    /// Not in the image the container was made from.
    pub added: bool,
    pub deleted: bool,
}

/// A container to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    pub image: String,
    /// `Some(vec![])` clears the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `NAME=value`.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<MountSpec>,
    /// `none`, `host` or the default network.
    pub network_mode: Option<String>,
}

/// The Engine operations of the native back end.
pub trait StepEngine: Send + Sync + 'static {
    fn create_container(
        &self,
        spec: ContainerSpec,
    ) -> impl Future<Output = Result<String, OpError>> + Send;

    fn start_container(&self, id: &str) -> impl Future<Output = Result<(), OpError>> + Send;

    /// The container's output (stdout and stderr), following until it exits.
    fn logs(&self, id: &str) -> BoxStream<'static, Result<Bytes, OpError>>;

    /// Waits for the container to exit; returns its exit code.
    fn wait_container(&self, id: &str) -> impl Future<Output = Result<i64, OpError>> + Send;

    /// Commits the container as an image with exactly this configuration
    /// (as far as the Engine allows) and these extra labels; returns the id.
    fn commit(
        &self,
        container: &str,
        settings: &ImageSettings,
    ) -> impl Future<Output = Result<String, OpError>> + Send;

    /// Extracts a planned tar at `/` in the container, reading the files
    /// it names as it sends them.
    fn upload(
        &self,
        container: &str,
        tar: PlannedTar,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// A tar of `path` in the container (its last component at the root).
    fn download(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<Vec<u8>, OpError>> + Send;

    /// What the container's own layer adds, changes and deletes.
    fn changes(
        &self,
        container: &str,
    ) -> impl Future<Output = Result<Vec<PathChange>, OpError>> + Send;

    /// A tar of `path` in the container holding its first entry only: a
    /// directory without its contents, a file with its content.
    fn download_first_entry(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<Vec<u8>, OpError>> + Send;

    /// Extracts `tar` into the directory `dir` of the container.
    fn upload_into(
        &self,
        container: &str,
        dir: &str,
        tar: Vec<u8>,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// What `path` is in the container, `Ok(None)` when it does not exist.
    fn path_kind(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<Option<PathKind>, OpError>> + Send;

    /// `Ok(None)` when there is no such image.
    fn inspect_image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageDetails>, OpError>> + Send;

    /// Images with `label` (and, when given, `label=value`).
    fn images_with_label(
        &self,
        label: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<Vec<CachedImage>, OpError>> + Send;

    fn remove_container(&self, id: &str) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Ids of the containers with `label=value`, running or not.
    fn containers_with_label(
        &self,
        label: &str,
        value: &str,
    ) -> impl Future<Output = Result<Vec<String>, OpError>> + Send;

    fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Imports a root file system tar as an image (`docker import`).
    fn import_image(
        &self,
        rootfs: Vec<u8>,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, OpError>> + Send;

    fn tag_image(
        &self,
        image: &str,
        reference: &str,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    fn remove_image(&self, image: &str) -> impl Future<Output = Result<(), OpError>> + Send;

    /// An image of `entry`'s layers with exactly `settings` as its
    /// configuration, merged with nothing (`target_image`), its times at
    /// `source_date_epoch` when one is given; returns its id.
    fn configured_image(
        &self,
        entry: &str,
        settings: &ImageSettings,
        source_date_epoch: Option<u64>,
    ) -> impl Future<Output = Result<String, OpError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::OpError;

    #[test]
    fn an_engine_error_names_the_operation_and_keeps_its_source() {
        let error = OpError::from_bollard(
            "commit",
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message: "No such container: abc".into(),
            },
        );
        assert!(error.not_found);
        assert!(error.to_string().starts_with("commit: "), "{error}");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert!(
            source.is_some_and(|s| s.contains("No such container")),
            "bollard's error is the source"
        );
    }
}
