//! The native back end's Engine primitives on the real daemon, over the
//! engine layer's bollard client (`engine::client::DockerEngine`). The only
//! file of `native` that builds bollard requests; every error names its
//! operation.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerConfig, ContainerCreateBody, HealthConfig, HostConfig, ImageConfig, Mount,
    MountTmpfsOptions, MountType, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, ContainerArchiveInfoOptionsBuilder,
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    ImportImageOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    RemoveVolumeOptionsBuilder, TagImageOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};

use super::engine_api::{
    CachedImage, ContainerSpec, HealthSettings, ImageDetails, ImageSettings, MountSpec, OpError,
    PathChange, PathKind, StepEngine,
};
use super::target_image::{
    EntryFacts, HistoryFacts, at_source_date, config_document, config_only_archive, image_id,
};
use crate::engine::client::{DockerEngine, split_reference};
use crate::engine::planned_tar::PlannedTar;
use crate::engine::tar_stream::streamed;

pub(crate) fn op(operation: &'static str) -> impl Fn(BollardError) -> OpError {
    move |error| OpError::from_bollard(operation, error)
}

fn to_map(pairs: &BTreeMap<String, String>) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn split_env(entries: Vec<String>) -> Vec<(String, String)> {
    entries
        .into_iter()
        .map(|entry| match entry.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (entry, String::new()),
        })
        .collect()
}

fn settings_from(config: ImageConfig) -> ImageSettings {
    ImageSettings {
        env: split_env(config.env.unwrap_or_default()),
        // An empty list is not an unset one: images built on this one
        // inherit the `[]` (the classic builder's do).
        cmd: config.cmd,
        entrypoint: config.entrypoint,
        workdir: config.working_dir.unwrap_or_default(),
        user: config.user.unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        exposed_ports: config
            .exposed_ports
            .unwrap_or_default()
            .into_iter()
            .collect(),
        volumes: config.volumes.unwrap_or_default().into_iter().collect(),
        healthcheck: config.healthcheck.map(|h| HealthSettings {
            test: h.test.unwrap_or_default(),
            interval: h.interval.filter(|n| *n != 0),
            timeout: h.timeout.filter(|n| *n != 0),
            start_period: h.start_period.filter(|n| *n != 0),
            start_interval: h.start_interval.filter(|n| *n != 0),
            retries: h.retries.filter(|n| *n != 0),
        }),
        stop_signal: config.stop_signal.filter(|s| !s.is_empty()),
        onbuild: config.on_build.unwrap_or_default(),
        shell: config.shell.filter(|s| !s.is_empty()),
        author: String::new(),
    }
}

/// The commit body. An unset entrypoint is sent empty, so that the
/// Engine's merge does not copy the container's own into the image.
fn commit_config(settings: &ImageSettings) -> ContainerConfig {
    ContainerConfig {
        env: Some(
            settings
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        cmd: settings.cmd.clone(),
        entrypoint: Some(settings.entrypoint.clone().unwrap_or_default()),
        working_dir: Some(settings.workdir.clone()),
        user: Some(settings.user.clone()),
        labels: Some(to_map(&settings.labels)),
        exposed_ports: Some(settings.exposed_ports.iter().cloned().collect()),
        volumes: Some(settings.volumes.iter().cloned().collect()),
        healthcheck: settings.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval,
            timeout: h.timeout,
            start_period: h.start_period,
            start_interval: h.start_interval,
            retries: h.retries,
        }),
        stop_signal: settings.stop_signal.clone(),
        on_build: Some(settings.onbuild.clone()),
        shell: settings.shell.clone(),
        ..ContainerConfig::default()
    }
}

pub(crate) fn mount(spec: &MountSpec) -> Mount {
    match spec {
        MountSpec::Volume {
            name,
            target,
            readonly,
        } => Mount {
            typ: Some(MountType::VOLUME),
            source: Some(name.clone()),
            target: Some(target.clone()),
            read_only: Some(*readonly),
            ..Mount::default()
        },
        MountSpec::Bind {
            source,
            target,
            readonly,
        } => Mount {
            typ: Some(MountType::BIND),
            source: Some(source.clone()),
            target: Some(target.clone()),
            read_only: Some(*readonly),
            ..Mount::default()
        },
        MountSpec::Tmpfs { target, size } => Mount {
            typ: Some(MountType::TMPFS),
            target: Some(target.clone()),
            tmpfs_options: Some(MountTmpfsOptions {
                size_bytes: *size,
                ..MountTmpfsOptions::default()
            }),
            ..Mount::default()
        },
    }
}

/// What a target's image takes from its cache entry (`target_image`).
async fn entry_facts(engine: &DockerEngine, entry: &str) -> Result<EntryFacts, OpError> {
    let image = engine
        .docker()
        .inspect_image(entry)
        .await
        .map_err(op("inspect image"))?;
    let history = engine
        .docker()
        .image_history(entry)
        .await
        .map_err(op("image history"))?;
    Ok(EntryFacts {
        id: image.id.unwrap_or_default(),
        architecture: image.architecture.unwrap_or_default(),
        os: image.os.unwrap_or_default(),
        variant: image.variant.filter(|v| !v.is_empty()),
        created: image.created.unwrap_or_default(),
        diff_ids: image
            .root_fs
            .and_then(|root| root.layers)
            .unwrap_or_default(),
        // The Engine lists the newest line first.
        history: history
            .into_iter()
            .rev()
            .map(|line| HistoryFacts {
                created: crate::engine::image_labels::rfc3339(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::from_secs(
                            u64::try_from(line.created).unwrap_or_default(),
                        ),
                ),
                created_by: line.created_by,
                comment: line.comment,
                size: line.size,
            })
            .collect(),
    })
}

impl StepEngine for DockerEngine {
    async fn create_container(&self, spec: ContainerSpec) -> Result<String, OpError> {
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint,
            cmd: spec.cmd,
            env: Some(spec.env),
            working_dir: spec.workdir,
            user: spec.user,
            labels: Some(to_map(&spec.labels)),
            host_config: Some(HostConfig {
                mounts: Some(spec.mounts.iter().map(mount).collect()),
                network_mode: spec.network_mode,
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        self.docker()
            .create_container(Some(CreateContainerOptionsBuilder::new().build()), body)
            .await
            .map(|created| created.id)
            .map_err(op("create container"))
    }

    async fn start_container(&self, id: &str) -> Result<(), OpError> {
        self.docker()
            .start_container(id, None)
            .await
            .map_err(op("start container"))
    }

    fn logs(&self, id: &str) -> BoxStream<'static, Result<Bytes, OpError>> {
        let options = LogsOptionsBuilder::new()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .build();
        self.docker()
            .clone()
            .logs(id, Some(options))
            .map(|item| item.map(|output| output.into_bytes()).map_err(op("logs")))
            .boxed()
    }

    async fn wait_container(&self, id: &str) -> Result<i64, OpError> {
        let mut waits = self.docker().wait_container(id, None);
        match waits.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(error)) => Err(op("wait container")(error)),
            None => Err(OpError::new(
                "wait container",
                "the Engine sent no exit status",
            )),
        }
    }

    async fn commit(&self, container: &str, settings: &ImageSettings) -> Result<String, OpError> {
        let options = CommitContainerOptionsBuilder::new()
            .container(container)
            .pause(false)
            .author(&settings.author)
            .build();
        self.docker()
            .commit_container(options, commit_config(settings))
            .await
            .map(|id| id.id)
            .map_err(op("commit"))
    }

    async fn upload(&self, container: &str, tar: PlannedTar) -> Result<(), OpError> {
        let options = UploadToContainerOptionsBuilder::new().path("/").build();
        let engine = self.clone();
        let body = streamed(move |writer| {
            let mut builder = tar::Builder::new(writer);
            tar.append_to(&mut builder)?;
            builder.finish()
        })
        .inspect_ok(move |chunk| engine.count_sent(chunk.len()));
        self.docker()
            .upload_to_container(container, Some(options), bollard::body_try_stream(body))
            .await
            .map_err(op("upload"))
    }

    async fn download(&self, container: &str, path: &str) -> Result<Vec<u8>, OpError> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let chunks: Vec<Bytes> = self
            .docker()
            .download_from_container(container, Some(options))
            .try_collect()
            .await
            .map_err(op("download"))?;
        Ok(chunks.concat())
    }

    async fn changes(&self, container: &str) -> Result<Vec<PathChange>, OpError> {
        let changes = self
            .docker()
            .container_changes(container)
            .await
            .map_err(op("changes"))?;
        Ok(changes
            .unwrap_or_default()
            .into_iter()
            .map(|change| PathChange {
                path: change.path,
                added: change.kind == bollard::models::ChangeType::_1,
                deleted: change.kind == bollard::models::ChangeType::_2,
            })
            .collect())
    }

    async fn download_first_entry(&self, container: &str, path: &str) -> Result<Vec<u8>, OpError> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let mut chunks = Box::pin(
            self.docker()
                .download_from_container(container, Some(options)),
        );
        let mut tar = Vec::new();
        // A directory's tar holds everything under it: reading stops (and
        // the download is dropped) once its own entry is complete.
        while let Some(chunk) = chunks.next().await {
            tar.extend_from_slice(&chunk.map_err(op("download"))?);
            if super::source_date_times::first_entry_end(&tar).is_some() {
                break;
            }
        }
        Ok(tar)
    }

    async fn upload_into(&self, container: &str, dir: &str, tar: Vec<u8>) -> Result<(), OpError> {
        let options = UploadToContainerOptionsBuilder::new().path(dir).build();
        self.docker()
            .upload_to_container(
                container,
                Some(options),
                bollard::body_full(Bytes::from(tar)),
            )
            .await
            .map_err(op("upload"))
    }

    async fn path_kind(&self, container: &str, path: &str) -> Result<Option<PathKind>, OpError> {
        let options = ContainerArchiveInfoOptionsBuilder::new().path(path).build();
        match self
            .docker()
            .get_container_archive_info(container, Some(options))
            .await
        {
            Ok(stat) => Ok(Some(if stat.file_mode & (1 << 31) != 0 {
                PathKind::Dir
            } else if stat.file_mode & (1 << 27) != 0 {
                PathKind::Symlink
            } else {
                PathKind::File
            })),
            Err(error) => {
                let error = op("stat")(error);
                if error.not_found {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>, OpError> {
        match self.docker().inspect_image(reference).await {
            Ok(image) => Ok(Some(ImageDetails {
                id: image.id.unwrap_or_default(),
                settings: settings_from(image.config.unwrap_or_default()),
                size: image.size.unwrap_or_default(),
            })),
            Err(error) => {
                let error = op("inspect image")(error);
                if error.not_found {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    async fn images_with_label(
        &self,
        label: &str,
        value: Option<&str>,
    ) -> Result<Vec<CachedImage>, OpError> {
        let filter = match value {
            Some(value) => format!("{label}={value}"),
            None => label.to_owned(),
        };
        let filters = HashMap::from([("label", vec![filter.as_str()])]);
        let options = ListImagesOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let images = self
            .docker()
            .list_images(Some(options))
            .await
            .map_err(op("list images"))?;
        Ok(images
            .into_iter()
            .map(|image| CachedImage {
                id: image.id,
                labels: image.labels.into_iter().collect(),
                size: image.size,
                created: image.created,
                tags: image
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect(),
                parent: image.parent_id,
            })
            .collect())
    }

    async fn remove_container(&self, id: &str) -> Result<(), OpError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        self.docker()
            .remove_container(id, Some(options))
            .await
            .map_err(op("remove container"))
    }

    async fn containers_with_label(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<String>, OpError> {
        let filter = format!("{label}={value}");
        let filters = HashMap::from([("label", vec![filter.as_str()])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker()
            .list_containers(Some(options))
            .await
            .map_err(op("list containers"))?;
        Ok(containers.into_iter().filter_map(|c| c.id).collect())
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), OpError> {
        let request = VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(to_map(labels)),
            ..VolumeCreateRequest::default()
        };
        self.docker()
            .create_volume(request)
            .await
            .map(drop)
            .map_err(op("create volume"))
    }

    async fn remove_volume(&self, name: &str) -> Result<(), OpError> {
        let options = RemoveVolumeOptionsBuilder::new().force(true).build();
        self.docker()
            .remove_volume(name, Some(options))
            .await
            .map_err(op("remove volume"))
    }

    async fn import_image(
        &self,
        rootfs: Vec<u8>,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, OpError> {
        let changes: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("LABEL {k}={v}"))
            .collect();
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .changes(changes)
            .build();
        let mut stream = self.docker().create_image(
            Some(options),
            Some(bollard::body_full(Bytes::from(rootfs))),
            None,
        );
        let mut id = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(op("import"))?;
            if let Some(status) = info.status.filter(|s| s.starts_with("sha256:")) {
                id = Some(status);
            }
        }
        id.ok_or_else(|| OpError::new("import", "the Engine sent no image id"))
    }

    async fn configured_image(
        &self,
        entry: &str,
        settings: &ImageSettings,
        source_date_epoch: Option<u64>,
    ) -> Result<String, OpError> {
        let mut facts = entry_facts(self, entry).await?;
        if let Some(epoch) = source_date_epoch {
            facts = at_source_date(&facts, epoch);
        }
        let config = config_document(&facts, settings);
        let id = image_id(&config);
        // The id is the configuration's digest: an image with it is this one
        // (a warm rebuild finds it and loads nothing).
        if self.inspect_image(&id).await?.is_some() {
            return Ok(id);
        }
        let archive = config_only_archive(&config, facts.diff_ids.len())
            .map_err(|e| OpError::new("load image", e.to_string()))?;
        let options = ImportImageOptionsBuilder::new().quiet(true).build();
        let mut stream =
            self.docker()
                .import_image(options, bollard::body_full(Bytes::from(archive)), None);
        while let Some(item) = stream.next().await {
            item.map_err(op("load image"))?;
        }
        match self.inspect_image(&id).await? {
            Some(_) => Ok(id),
            None => Err(OpError::new(
                "load image",
                format!("the Engine did not keep image {id}"),
            )),
        }
    }

    async fn tag_image(&self, image: &str, reference: &str) -> Result<(), OpError> {
        let (repo, tag) = split_reference(reference).ok_or_else(|| {
            OpError::new("tag", format!("`{reference}` is not a valid reference"))
        })?;
        let options = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        self.docker()
            .tag_image(image, Some(options))
            .await
            .map_err(op("tag"))
    }

    async fn remove_image(&self, image: &str) -> Result<(), OpError> {
        let options = RemoveImageOptionsBuilder::new().build();
        self.docker()
            .remove_image(image, Some(options), None)
            .await
            .map(drop)
            .map_err(op("remove image"))
    }
}
