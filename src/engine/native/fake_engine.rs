//! An in-memory Engine for unit tests of step execution. Images and
//! containers hold file trees; a started container "runs" by writing its
//! script to `/ran/<n>` and prints it, or exits 1 when the script contains
//! `fail`. It records what it was asked, so tests can check specs and
//! counts. End-to-end tests run the same code against the real daemon.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::Mutex;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use sha2::Digest;

use super::engine_api::{
    CachedImage, ContainerSpec, ImageDetails, ImageSettings, OpError, PathChange, PathKind,
    StepEngine,
};
use crate::engine::planned_tar::PlannedTar;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

pub type Tree = BTreeMap<String, (Node, u32, u64, u64)>;

#[derive(Debug, Clone, Default)]
pub struct FakeImage {
    pub files: Tree,
    pub settings: ImageSettings,
    pub created: i64,
    /// The image it was committed on.
    pub parent: String,
}

#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub spec: ContainerSpec,
    pub files: Tree,
    pub exit: Option<i64>,
    pub output: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct FakeState {
    pub images: BTreeMap<String, FakeImage>,
    pub tags: BTreeMap<String, String>,
    pub containers: BTreeMap<String, FakeContainer>,
    pub volumes: BTreeSet<String>,
    pub created: Vec<ContainerSpec>,
    pub started: usize,
    pub commits: usize,
    next: usize,
}

#[derive(Debug, Default)]
pub struct FakeEngine {
    pub state: Mutex<FakeState>,
}

impl FakeEngine {
    /// An engine holding `reference` with these files and settings.
    pub fn with_image(reference: &str, files: &[(&str, &str)], settings: ImageSettings) -> Self {
        let engine = Self::default();
        let mut tree = Tree::new();
        for (path, content) in files {
            add_parents(&mut tree, path);
            tree.insert(
                path.to_string(),
                (Node::File(content.as_bytes().to_vec()), 0o755, 0, 0),
            );
        }
        if let Ok(mut state) = engine.state.lock() {
            let id = "sha256:base".to_owned();
            state.images.insert(
                id.clone(),
                FakeImage {
                    files: tree,
                    settings,
                    created: 0,
                    parent: String::new(),
                },
            );
            state.tags.insert(reference.to_owned(), id);
        }
        engine
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn image(&self, id: &str) -> Option<FakeImage> {
        self.lock().images.get(id).cloned()
    }
}

fn add_parents(tree: &mut Tree, path: &str) {
    let mut prefix = String::new();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        prefix.push('/');
        prefix.push_str(part);
        tree.entry(prefix.clone())
            .or_insert((Node::Dir, 0o755, 0, 0));
    }
}

impl FakeState {
    fn next_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn resolve(&self, reference: &str) -> Option<String> {
        if self.images.contains_key(reference) {
            return Some(reference.to_owned());
        }
        self.tags.get(reference).cloned()
    }
}

fn missing(operation: &'static str, what: &str) -> OpError {
    OpError::not_found(operation, format!("no such object: {what}"))
}

impl StepEngine for FakeEngine {
    async fn create_container(&self, spec: ContainerSpec) -> Result<String, OpError> {
        let mut state = self.lock();
        let image = state
            .resolve(&spec.image)
            .ok_or_else(|| missing("create container", &spec.image))?;
        let files = state.images[&image].files.clone();
        let id = state.next_id("container-");
        state.created.push(spec.clone());
        state.containers.insert(
            id.clone(),
            FakeContainer {
                spec,
                files,
                exit: None,
                output: Vec::new(),
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<(), OpError> {
        let mut state = self.lock();
        state.started += 1;
        let n = state.started;
        let container = state
            .containers
            .get_mut(id)
            .ok_or_else(|| missing("start", id))?;
        let script = container
            .spec
            .entrypoint
            .iter()
            .chain(container.spec.cmd.iter())
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        container.output = format!("running: {script}\n").into_bytes();
        if script.contains("fail") {
            container.exit = Some(1);
        } else {
            add_parents(&mut container.files, &format!("/ran/{n}"));
            container.files.insert(
                format!("/ran/{n}"),
                (Node::File(script.into_bytes()), 0o644, 0, 0),
            );
            container.exit = Some(0);
        }
        Ok(())
    }

    fn logs(&self, id: &str) -> BoxStream<'static, Result<Bytes, OpError>> {
        let output = self
            .lock()
            .containers
            .get(id)
            .map(|c| c.output.clone())
            .unwrap_or_default();
        stream::iter(vec![Ok(Bytes::from(output))]).boxed()
    }

    async fn wait_container(&self, id: &str) -> Result<i64, OpError> {
        self.lock()
            .containers
            .get(id)
            .and_then(|c| c.exit)
            .ok_or_else(|| missing("wait", id))
    }

    /// Like the Engine, the image keeps the labels of the container and of
    /// its image that the commit does not set.
    async fn commit(&self, container: &str, settings: &ImageSettings) -> Result<String, OpError> {
        let mut state = self.lock();
        let found = state
            .containers
            .get(container)
            .ok_or_else(|| missing("commit", container))?;
        let files = found.files.clone();
        let mut settings = settings.clone();
        let image_id = state
            .tags
            .get(&found.spec.image)
            .unwrap_or(&found.spec.image)
            .clone();
        let from_image = state
            .images
            .get(&image_id)
            .map(|image| image.settings.labels.clone())
            .unwrap_or_default();
        for (key, value) in found.spec.labels.clone().into_iter().chain(from_image) {
            settings.labels.entry(key).or_insert(value);
        }
        state.commits += 1;
        let id = state.next_id("sha256:image-");
        let created = state.next as i64;
        state.images.insert(
            id.clone(),
            FakeImage {
                files,
                settings,
                created,
                parent: image_id,
            },
        );
        Ok(id)
    }

    async fn upload(&self, container: &str, tar: PlannedTar) -> Result<(), OpError> {
        let tar = tar
            .to_bytes()
            .map_err(|e| OpError::new("upload", e.to_string()))?;
        let mut state = self.lock();
        let target = state
            .containers
            .get_mut(container)
            .ok_or_else(|| missing("upload", container))?;
        let mut archive = tar::Archive::new(tar.as_slice());
        let bad = |e: std::io::Error| OpError::new("upload", e.to_string());
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let path = format!(
                "/{}",
                entry
                    .path()
                    .map_err(bad)?
                    .display()
                    .to_string()
                    .trim_end_matches('/')
            );
            let header = entry.header().clone();
            let node = match header.entry_type() {
                tar::EntryType::Directory => Node::Dir,
                tar::EntryType::Symlink => Node::Symlink(
                    entry
                        .link_name()
                        .map_err(bad)?
                        .map(|l| l.display().to_string())
                        .unwrap_or_default(),
                ),
                _ => {
                    let mut data = Vec::new();
                    entry.read_to_end(&mut data).map_err(bad)?;
                    Node::File(data)
                }
            };
            add_parents(&mut target.files, &path);
            target.files.insert(
                path,
                (
                    node,
                    header.mode().unwrap_or(0),
                    header.uid().unwrap_or(0),
                    header.gid().unwrap_or(0),
                ),
            );
        }
        Ok(())
    }

    async fn download(&self, container: &str, path: &str) -> Result<Vec<u8>, OpError> {
        let state = self.lock();
        let files = &state
            .containers
            .get(container)
            .ok_or_else(|| missing("download", container))?
            .files;
        if !files.contains_key(path) {
            return Err(missing("download", path));
        }
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        let mut builder = tar::Builder::new(Vec::new());
        for (name, (node, mode, uid, gid)) in files.range(path.to_owned()..) {
            if name != path && !name.starts_with(&format!("{path}/")) {
                continue;
            }
            let relative = name[parent.len()..].trim_start_matches('/');
            let mut header = tar::Header::new_gnu();
            header.set_mode(*mode);
            header.set_uid(*uid);
            header.set_gid(*gid);
            let bad = |e: std::io::Error| OpError::new("download", e.to_string());
            match node {
                Node::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder
                        .append_data(&mut header, format!("{relative}/"), std::io::empty())
                        .map_err(bad)?;
                }
                Node::File(data) => {
                    header.set_size(data.len() as u64);
                    builder
                        .append_data(&mut header, relative, data.as_slice())
                        .map_err(bad)?;
                }
                Node::Symlink(link) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder
                        .append_link(&mut header, relative, link)
                        .map_err(bad)?;
                }
            }
        }
        builder
            .into_inner()
            .map_err(|e| OpError::new("download", e.to_string()))
    }

    /// The fake keeps no layers: nothing to tell apart from the base.
    async fn changes(&self, container: &str) -> Result<Vec<PathChange>, OpError> {
        let state = self.lock();
        state
            .containers
            .get(container)
            .map(|_| Vec::new())
            .ok_or_else(|| missing("changes", container))
    }

    async fn download_first_entry(&self, container: &str, path: &str) -> Result<Vec<u8>, OpError> {
        Err(missing("download", &format!("{container}:{path}")))
    }

    async fn upload_into(&self, container: &str, dir: &str, _tar: Vec<u8>) -> Result<(), OpError> {
        Err(missing("upload", &format!("{container}:{dir}")))
    }

    async fn path_kind(&self, container: &str, path: &str) -> Result<Option<PathKind>, OpError> {
        let state = self.lock();
        let files = &state
            .containers
            .get(container)
            .ok_or_else(|| missing("stat", container))?
            .files;
        Ok(files
            .get(path.trim_end_matches('/'))
            .map(|(node, ..)| match node {
                Node::Dir => PathKind::Dir,
                Node::File(_) => PathKind::File,
                Node::Symlink(_) => PathKind::Symlink,
            }))
    }

    async fn inspect_image(&self, reference: &str) -> Result<Option<ImageDetails>, OpError> {
        let state = self.lock();
        Ok(state.resolve(reference).map(|id| ImageDetails {
            settings: state.images[&id].settings.clone(),
            size: state.images[&id].files.len() as i64,
            id,
        }))
    }

    async fn images_with_label(
        &self,
        label: &str,
        value: Option<&str>,
    ) -> Result<Vec<CachedImage>, OpError> {
        let state = self.lock();
        Ok(state
            .images
            .iter()
            .filter(
                |(_, image)| match (image.settings.labels.get(label), value) {
                    (Some(found), Some(wanted)) => found == wanted,
                    (Some(_), None) => true,
                    (None, _) => false,
                },
            )
            .map(|(id, image)| CachedImage {
                id: id.clone(),
                labels: image.settings.labels.clone(),
                size: image.files.len() as i64,
                created: image.created,
                tags: state
                    .tags
                    .iter()
                    .filter(|(_, target)| *target == id)
                    .map(|(tag, _)| tag.clone())
                    .collect(),
                parent: image.parent.clone(),
            })
            .collect())
    }

    async fn remove_container(&self, id: &str) -> Result<(), OpError> {
        self.lock()
            .containers
            .remove(id)
            .map(drop)
            .ok_or_else(|| missing("remove container", id))
    }

    async fn containers_with_label(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<String>, OpError> {
        Ok(self
            .lock()
            .containers
            .iter()
            .filter(|(_, c)| c.spec.labels.get(label).is_some_and(|v| v == value))
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn create_volume(
        &self,
        name: &str,
        _labels: &BTreeMap<String, String>,
    ) -> Result<(), OpError> {
        self.lock().volumes.insert(name.to_owned());
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), OpError> {
        self.lock().volumes.remove(name);
        Ok(())
    }

    async fn import_image(
        &self,
        _rootfs: Vec<u8>,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, OpError> {
        let mut state = self.lock();
        let id = state.next_id("sha256:imported-");
        state.images.insert(
            id.clone(),
            FakeImage {
                files: Tree::new(),
                settings: ImageSettings {
                    labels: labels.clone(),
                    ..ImageSettings::default()
                },
                created: 0,
                parent: String::new(),
            },
        );
        Ok(id)
    }

    /// Like the Engine's load of a configuration: the entry's files under
    /// exactly `settings`, and the same id for the same entry and settings.
    async fn configured_image(
        &self,
        entry: &str,
        settings: &ImageSettings,
        source_date_epoch: Option<u64>,
    ) -> Result<String, OpError> {
        let mut state = self.lock();
        let id = state
            .resolve(entry)
            .ok_or_else(|| missing("load image", entry))?;
        let found = state
            .images
            .get(&id)
            .cloned()
            .ok_or_else(|| missing("load image", entry))?;
        let digest =
            sha2::Sha256::digest(format!("{id}{settings:?}{source_date_epoch:?}").as_bytes());
        let configured = format!("sha256:configured-{}", hex::encode(&digest[..8]));
        state.images.insert(
            configured.clone(),
            FakeImage {
                settings: settings.clone(),
                ..found
            },
        );
        Ok(configured)
    }

    async fn tag_image(&self, image: &str, reference: &str) -> Result<(), OpError> {
        let mut state = self.lock();
        let id = state.resolve(image).ok_or_else(|| missing("tag", image))?;
        state.tags.insert(reference.to_owned(), id);
        Ok(())
    }

    /// Like the Engine: a tag is removed; the image goes with its last
    /// tag unless another image was committed on it.
    async fn remove_image(&self, image: &str) -> Result<(), OpError> {
        let mut state = self.lock();
        let id = match state.tags.remove(image) {
            Some(id) => id,
            None if state.images.contains_key(image) => image.to_owned(),
            None => return Err(missing("remove image", image)),
        };
        let tagged = state.tags.values().any(|target| *target == id);
        let has_children = state.images.values().any(|i| i.parent == id);
        if !tagged && !has_children {
            state.images.remove(&id);
        }
        Ok(())
    }
}
