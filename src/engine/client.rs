//! The one wrapper over bollard. Back ends speak to the Engine only through
//! the `Engine` trait (so unit tests can fake it); only this file builds
//! bollard option structs. Every error names the operation that failed and
//! keeps bollard's error as its source; every stream error surfaces.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, ImageInspect, SystemVersion};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, CreateContainerOptionsBuilder,
    CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder, ListContainersOptionsBuilder,
    PushImageOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};

use super::tar_stream::Body;

use super::registry::credentials::Credentials;

/// An Engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("build: the Engine's build request failed")]
    Build {
        #[source]
        source: BollardError,
    },
    #[error("tag: cannot tag image {image} as {reference}")]
    Tag {
        image: String,
        reference: String,
        #[source]
        source: BollardError,
    },
    #[error("tag: `{reference}` is not a valid image reference")]
    BadReference { reference: String },
    #[error("create container: cannot create a container from image {image}")]
    CreateContainer {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("download: cannot copy {path} out of container {container}")]
    Download {
        container: String,
        path: String,
        #[source]
        source: BollardError,
    },
    #[error("remove container: cannot remove container {container}")]
    RemoveContainer {
        container: String,
        #[source]
        source: BollardError,
    },
    #[error("inspect image: cannot inspect image {image}")]
    InspectImage {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("remove image: cannot remove image {image}")]
    RemoveImage {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("list containers: cannot list containers")]
    ListContainers {
        #[source]
        source: BollardError,
    },
    #[error("pull: the Engine cannot pull {image}")]
    Pull {
        image: String,
        #[source]
        source: BollardError,
    },
    #[error("push: the Engine cannot push {reference}")]
    Push {
        reference: String,
        #[source]
        source: BollardError,
    },
}

impl EngineError {
    /// The Engine answered "no such object" (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
    }

    /// The daemon's own words, when it answered with an error status.
    pub fn server_message(&self) -> Option<&str> {
        match self.source_error()? {
            BollardError::DockerResponseServerError { message, .. } => Some(message),
            _ => None,
        }
    }

    fn source_error(&self) -> Option<&BollardError> {
        match self {
            EngineError::Build { source }
            | EngineError::Tag { source, .. }
            | EngineError::CreateContainer { source, .. }
            | EngineError::Download { source, .. }
            | EngineError::RemoveContainer { source, .. }
            | EngineError::InspectImage { source, .. }
            | EngineError::RemoveImage { source, .. }
            | EngineError::ListContainers { source }
            | EngineError::Pull { source, .. }
            | EngineError::Push { source, .. } => Some(source),
            EngineError::BadReference { .. } => None,
        }
    }

    fn status_code(&self) -> Option<u16> {
        match self.source_error()? {
            BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
            _ => None,
        }
    }
}

/// A request to the Engine's classic builder (`POST /build`, `version=1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassicBuild {
    /// The Dockerfile's path inside the context tar.
    pub dockerfile: String,
    /// The stage to stop at.
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    /// Labels the builder adds to the final image.
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    /// When not empty, the only images (and their parents) the builder may
    /// take a step's result from.
    pub cache_from: Vec<String>,
}

/// One message of a build's output stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildMessage {
    /// Text the builder printed (may hold several lines or part of one).
    Output(String),
    /// A status line (pulling, downloading…).
    Status(String),
    /// The id of the image the build produced.
    ImageId(String),
    /// The build reported an error and stopped.
    Error(String),
}

/// One message of a pull or push stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferMessage {
    /// A status line; `id` names the layer (or the tag) it is about.
    Status {
        id: Option<String>,
        status: String,
        current: Option<u64>,
        total: Option<u64>,
    },
    /// The transfer reported an error and stopped.
    Error(String),
}

/// The Engine operations the back ends use.
pub trait Engine: Send + Sync {
    /// Runs a classic build on the context tar `context` streams; the
    /// stream ends after the build's last message.
    fn build(
        &self,
        request: ClassicBuild,
        context: Body,
    ) -> BoxStream<'_, Result<BuildMessage, EngineError>>;

    /// Tags `image` as `reference` (`name[:tag]`).
    fn tag(
        &self,
        image: &str,
        reference: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Creates (never starts) a container from `image`; returns its id.
    fn create_container(
        &self,
        image: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// Streams a tar of `path` inside `container`.
    fn download(&self, container: &str, path: &str) -> BoxStream<'_, Result<Bytes, EngineError>>;

    /// Removes a container, stopping it first if it runs.
    fn remove_container(
        &self,
        container: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    fn inspect_image(
        &self,
        image: &str,
    ) -> impl Future<Output = Result<ImageInspect, EngineError>> + Send;

    /// Removes an untagged image, keeping its parent layers (the build cache).
    fn remove_image(&self, image: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Ids of every container (running or not) with `label=value`.
    fn containers_labelled(
        &self,
        label: &str,
        value: &str,
    ) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send;
}

/// The real Engine, through bollard.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    address: String,
    /// What the Engine said of itself when connecting (`GET /version`,
    /// which runs its runtimes to ask theirs: milliseconds, asked once).
    version: Arc<SystemVersion>,
    /// Bytes of build contexts and file tars sent to the daemon, shared by
    /// clones, so that a build can say what it uploaded.
    sent: Arc<AtomicU64>,
}

impl DockerEngine {
    /// Wraps a connected, version-negotiated client and the Engine's answer
    /// to `GET /version`.
    pub fn new(docker: Docker, address: String, version: SystemVersion) -> Self {
        Self {
            docker,
            address,
            version: Arc::new(version),
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The Engine's answer to `GET /version` when it was connected.
    pub fn system_version(&self) -> &SystemVersion {
        &self.version
    }

    /// The Engine's `os/arch`: the platform it builds for unless told.
    pub fn platform(&self) -> Option<String> {
        let os = self.version.os.as_deref().filter(|o| !o.is_empty())?;
        let arch = self.version.arch.as_deref().filter(|a| !a.is_empty())?;
        Some(format!("{os}/{arch}"))
    }

    /// Bytes sent so far as build contexts or file uploads.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Counts a body about to be sent (a context or an upload tar).
    pub fn count_sent(&self, bytes: usize) {
        self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The bollard client, for the native back end's step primitives
    /// (`engine::native::docker_adapter`).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The address this client talks to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The API version agreed with the daemon, as `major.minor`.
    pub fn api_version(&self) -> String {
        let version = self.docker.client_version();
        format!("{}.{}", version.major_version, version.minor_version)
    }
}

impl DockerEngine {
    /// Pulls `reference` (`name:tag` or `name@digest`) for `platform`
    /// (`os/arch[/variant]`, else the Engine's own).
    pub fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        credentials: Option<&Credentials>,
    ) -> BoxStream<'_, Result<TransferMessage, EngineError>> {
        let options = CreateImageOptionsBuilder::new()
            .from_image(reference)
            .platform(platform.unwrap_or(""))
            .build();
        let image = reference.to_owned();
        self.docker
            .create_image(Some(options), None, credentials.map(docker_credentials))
            .map(move |item| match item {
                Ok(info) => Ok(transfer_message(
                    info.error_detail.and_then(|d| d.message),
                    info.id,
                    info.status,
                    info.progress_detail,
                )),
                Err(BollardError::DockerStreamError { error }) => Ok(TransferMessage::Error(error)),
                Err(source) => Err(EngineError::Pull {
                    image: image.clone(),
                    source,
                }),
            })
            .boxed()
    }

    /// Pushes the tag `reference` (`name[:tag]`) to its registry.
    pub fn push(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> BoxStream<'_, Result<TransferMessage, EngineError>> {
        let Some((repo, tag)) = split_reference(reference) else {
            let reference = reference.to_owned();
            return futures_util::stream::once(async move {
                Err(EngineError::BadReference { reference })
            })
            .boxed();
        };
        let options = PushImageOptionsBuilder::new().tag(tag).build();
        let owned = reference.to_owned();
        self.docker
            .push_image(repo, Some(options), credentials.map(docker_credentials))
            .map(move |item| match item {
                Ok(info) => Ok(transfer_message(
                    info.error_detail.and_then(|d| d.message),
                    None,
                    info.status,
                    info.progress_detail,
                )),
                Err(BollardError::DockerStreamError { error }) => Ok(TransferMessage::Error(error)),
                Err(source) => Err(EngineError::Push {
                    reference: owned.clone(),
                    source,
                }),
            })
            .boxed()
    }
}

fn transfer_message(
    error: Option<String>,
    id: Option<String>,
    status: Option<String>,
    progress: Option<bollard::models::ProgressDetail>,
) -> TransferMessage {
    if let Some(error) = error {
        return TransferMessage::Error(error);
    }
    let (current, total) = progress
        .map(|p| {
            (
                p.current.and_then(|c| u64::try_from(c).ok()),
                p.total.and_then(|t| u64::try_from(t).ok()),
            )
        })
        .unwrap_or_default();
    TransferMessage::Status {
        id,
        status: status.unwrap_or_default(),
        current,
        total,
    }
}

/// The Engine's registry-auth header; bollard encodes it.
pub fn docker_credentials(credentials: &Credentials) -> DockerCredentials {
    DockerCredentials {
        username: credentials.username.clone(),
        password: credentials.password.clone(),
        identitytoken: credentials.identity_token.clone(),
        serveraddress: Some(credentials.server.clone()),
        ..Default::default()
    }
}

impl Engine for DockerEngine {
    fn build(
        &self,
        request: ClassicBuild,
        context: Body,
    ) -> BoxStream<'_, Result<BuildMessage, EngineError>> {
        let build_args: HashMap<String, String> = request.build_args.into_iter().collect();
        let labels: HashMap<String, String> = request.labels.into_iter().collect();
        let mut options = BuildImageOptionsBuilder::new()
            .dockerfile(&request.dockerfile)
            .version(BuilderVersion::BuilderV1)
            .rm(true)
            .forcerm(true)
            .nocache(request.no_cache)
            .buildargs(&build_args)
            .labels(&labels);
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        if !request.cache_from.is_empty() {
            options = options.cachefrom(&request.cache_from);
        }
        let sent = Arc::clone(&self.sent);
        let context = context.inspect_ok(move |chunk| {
            sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        });
        self.docker
            .build_image(
                options.build(),
                None,
                Some(bollard::body_try_stream(context)),
            )
            .filter_map(|item| async move {
                match item {
                    Ok(info) => {
                        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                            return Some(Ok(BuildMessage::Error(detail)));
                        }
                        if let Some(id) = info.aux.and_then(|aux| aux.id) {
                            return Some(Ok(BuildMessage::ImageId(id)));
                        }
                        if let Some(text) = info.stream {
                            return Some(Ok(BuildMessage::Output(text)));
                        }
                        info.status.map(|status| Ok(BuildMessage::Status(status)))
                    }
                    Err(BollardError::DockerStreamError { error }) => {
                        Some(Ok(BuildMessage::Error(error)))
                    }
                    Err(source) => Some(Err(EngineError::Build { source })),
                }
            })
            .boxed()
    }

    async fn tag(&self, image: &str, reference: &str) -> Result<(), EngineError> {
        let (repo, tag) = split_reference(reference).ok_or_else(|| EngineError::BadReference {
            reference: reference.to_owned(),
        })?;
        let options = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(|source| EngineError::Tag {
                image: image.to_owned(),
                reference: reference.to_owned(),
                source,
            })
    }

    async fn create_container(
        &self,
        image: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            // Never started; the Engine refuses a container without a command.
            cmd: Some(vec!["stages-export-never-started".to_owned()]),
            labels: Some(labels.clone().into_iter().collect()),
            network_disabled: Some(true),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new().build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|created| created.id)
            .map_err(|source| EngineError::CreateContainer {
                image: image.to_owned(),
                source,
            })
    }

    fn download(&self, container: &str, path: &str) -> BoxStream<'_, Result<Bytes, EngineError>> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let container = container.to_owned();
        let path = path.to_owned();
        self.docker
            .download_from_container(&container, Some(options))
            .map(move |item| {
                item.map_err(|source| EngineError::Download {
                    container: container.clone(),
                    path: path.clone(),
                    source,
                })
            })
            .boxed()
    }

    async fn remove_container(&self, container: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        self.docker
            .remove_container(container, Some(options))
            .await
            .map_err(|source| EngineError::RemoveContainer {
                container: container.to_owned(),
                source,
            })
    }

    async fn inspect_image(&self, image: &str) -> Result<ImageInspect, EngineError> {
        self.docker
            .inspect_image(image)
            .await
            .map_err(|source| EngineError::InspectImage {
                image: image.to_owned(),
                source,
            })
    }

    async fn remove_image(&self, image: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptionsBuilder::new().noprune(true).build();
        self.docker
            .remove_image(image, Some(options), None)
            .await
            .map(|_| ())
            .map_err(|source| EngineError::RemoveImage {
                image: image.to_owned(),
                source,
            })
    }

    async fn containers_labelled(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<String>, EngineError> {
        let mut filters = HashMap::new();
        filters.insert("label", vec![format!("{label}={value}")]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|source| EngineError::ListContainers { source })?;
        Ok(containers.into_iter().filter_map(|c| c.id).collect())
    }
}

/// Splits `name[:tag]` into repository and tag (`latest` when absent); a
/// colon before the last `/` belongs to a registry port, not a tag.
pub fn split_reference(reference: &str) -> Option<(&str, &str)> {
    if reference.is_empty() || reference.contains('@') || reference.contains(char::is_whitespace) {
        return None;
    }
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            let (repo, tag) = (&reference[..at], &reference[at + 1..]);
            (!repo.is_empty() && !tag.is_empty()).then_some((repo, tag))
        }
        None => Some((reference, "latest")),
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references_split_at_the_tag_colon() {
        assert_eq!(split_reference("app"), Some(("app", "latest")));
        assert_eq!(split_reference("app:1.2"), Some(("app", "1.2")));
        assert_eq!(
            split_reference("localhost:5000/team/app"),
            Some(("localhost:5000/team/app", "latest"))
        );
        assert_eq!(
            split_reference("localhost:5000/app:v1"),
            Some(("localhost:5000/app", "v1"))
        );
        assert_eq!(split_reference("app:"), None);
        assert_eq!(split_reference("app@sha256:abc"), None);
        assert_eq!(split_reference(""), None);
    }
}
