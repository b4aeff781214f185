//! A scripted Engine for unit tests of the back ends and the target runner:
//! builds answer with canned messages, and every call is recorded.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bollard::models::ImageInspect;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};

use super::client::{BuildMessage, ClassicBuild, Engine, EngineError};
use super::tar_stream::Body;

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Build {
        target: Option<String>,
        no_cache: bool,
    },
    Tag {
        image: String,
        reference: String,
    },
    Create {
        image: String,
    },
    Download {
        container: String,
        path: String,
    },
    Remove {
        container: String,
    },
    RemoveImage {
        image: String,
    },
}

#[derive(Default)]
pub struct FakeEngine {
    /// Answers to successive builds.
    pub builds: Mutex<Vec<Vec<BuildMessage>>>,
    /// Tar bytes served for a downloaded path.
    pub archives: BTreeMap<String, Vec<u8>>,
    pub calls: Mutex<Vec<Call>>,
    /// The context tar of each build, to inspect what was sent.
    pub contexts: Mutex<Vec<Bytes>>,
    /// Containers the Engine has, by id: (label, value).
    pub containers: Mutex<BTreeMap<String, (String, String)>>,
}

impl FakeEngine {
    pub fn with_builds(builds: Vec<Vec<BuildMessage>>) -> Self {
        Self {
            builds: Mutex::new(builds.into_iter().rev().collect()),
            ..Self::default()
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// A container carrying `label=value`.
    pub fn add_container(&self, id: &str, label: &str, value: &str) {
        if let Ok(mut containers) = self.containers.lock() {
            containers.insert(id.to_owned(), (label.to_owned(), value.to_owned()));
        }
    }

    pub fn container_ids(&self) -> Vec<String> {
        self.containers
            .lock()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn record(&self, call: Call) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }
}

/// Classic-builder output for a build that runs `steps` and succeeds.
pub fn output(lines: &[&str]) -> BuildMessage {
    BuildMessage::Output(lines.iter().map(|l| format!("{l}\n")).collect())
}

impl Engine for FakeEngine {
    fn build(
        &self,
        request: ClassicBuild,
        context: Body,
    ) -> BoxStream<'_, Result<BuildMessage, EngineError>> {
        self.record(Call::Build {
            target: request.target.clone(),
            no_cache: request.no_cache,
        });
        let messages = self
            .builds
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default();
        // The context is read whole before the build answers, as the Engine does.
        let received = async move {
            let chunks: Vec<Bytes> = context.try_collect().await.unwrap_or_default();
            if let Ok(mut contexts) = self.contexts.lock() {
                contexts.push(Bytes::from(chunks.concat()));
            }
            stream::iter(messages.into_iter().map(Ok))
        };
        stream::once(received).flatten().boxed()
    }

    /// A reference with the tag `refused` is refused, as the Engine
    /// refuses a malformed one.
    async fn tag(&self, image: &str, reference: &str) -> Result<(), EngineError> {
        self.record(Call::Tag {
            image: image.to_owned(),
            reference: reference.to_owned(),
        });
        if reference.ends_with(":refused") {
            return Err(EngineError::BadReference {
                reference: reference.to_owned(),
            });
        }
        Ok(())
    }

    async fn create_container(
        &self,
        image: &str,
        _: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        self.record(Call::Create {
            image: image.to_owned(),
        });
        Ok(format!("container-of-{image}"))
    }

    fn download(&self, container: &str, path: &str) -> BoxStream<'_, Result<Bytes, EngineError>> {
        self.record(Call::Download {
            container: container.to_owned(),
            path: path.to_owned(),
        });
        let bytes = self.archives.get(path).cloned().unwrap_or_default();
        stream::iter([Ok(Bytes::from(bytes))]).boxed()
    }

    async fn remove_container(&self, container: &str) -> Result<(), EngineError> {
        self.record(Call::Remove {
            container: container.to_owned(),
        });
        if let Ok(mut containers) = self.containers.lock() {
            containers.remove(container);
        }
        Ok(())
    }

    async fn inspect_image(&self, image: &str) -> Result<ImageInspect, EngineError> {
        Ok(ImageInspect {
            id: Some(image.to_owned()),
            ..Default::default()
        })
    }

    async fn remove_image(&self, image: &str) -> Result<(), EngineError> {
        self.record(Call::RemoveImage {
            image: image.to_owned(),
        });
        Ok(())
    }

    async fn containers_labelled(
        &self,
        label: &str,
        value: &str,
    ) -> Result<Vec<String>, EngineError> {
        let containers = self
            .containers
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        Ok(containers
            .into_iter()
            .filter(|(_, (l, v))| l == label && v == value)
            .map(|(id, _)| id)
            .collect())
    }
}
