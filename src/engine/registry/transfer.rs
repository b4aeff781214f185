//! Following one pull or push stream: layers seen and finished, bytes
//! moved, the digest announced, and a bound on how long the stream may stay
//! silent (a registry that stops answering must not hang the build).

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{BoxStream, StreamExt};

use crate::engine::client::{EngineError, TransferMessage};
use crate::engine::progress::{Event, ProgressSink};

/// Where a transfer is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferState {
    layers: BTreeMap<String, LayerState>,
    /// The digest the Engine announced (`Digest: sha256:…` on pull,
    /// `tag: digest: sha256:… size: N` on push).
    pub digest: Option<String>,
    /// The pull found the local image current.
    pub up_to_date: bool,
    /// Push messages carry no layer id through the Engine client: layers
    /// are counted by their `Preparing` and their end.
    unnamed_layers: usize,
    unnamed_done: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LayerState {
    done: bool,
    bytes: u64,
}

impl TransferState {
    /// Takes one status message in; true when the layer counts changed.
    pub fn update(&mut self, id: Option<&str>, status: &str, current: Option<u64>) -> bool {
        if let Some(digest) = announced_digest(status) {
            self.digest = Some(digest);
            return false;
        }
        if status.starts_with("Status: Image is up to date") {
            self.up_to_date = true;
            return false;
        }
        let Some(id) = id.filter(|id| is_layer_id(id)) else {
            return self.update_unnamed(status);
        };
        let before = (self.layers.len(), self.layers_done());
        let layer = self.layers.entry(id.to_owned()).or_default();
        match status {
            done if is_done(done) => layer.done = true,
            "Downloading" | "Pushing" => {
                if let Some(current) = current {
                    layer.bytes = current;
                }
            }
            _ => {}
        }
        before != (self.layers.len(), self.layers_done())
    }

    fn update_unnamed(&mut self, status: &str) -> bool {
        match status {
            "Preparing" => self.unnamed_layers += 1,
            done if is_done(done) && self.unnamed_done < self.unnamed_layers => {
                self.unnamed_done += 1;
            }
            _ => return false,
        }
        true
    }

    pub fn layers(&self) -> usize {
        self.layers.len() + self.unnamed_layers
    }

    pub fn layers_done(&self) -> usize {
        self.layers.values().filter(|l| l.done).count() + self.unnamed_done
    }

    pub fn bytes(&self) -> u64 {
        self.layers.values().map(|l| l.bytes).sum()
    }
}

/// A layer that is where it should be (pulled, pushed, or already there).
fn is_done(status: &str) -> bool {
    matches!(
        status,
        "Pull complete" | "Already exists" | "Pushed" | "Layer already exists"
    ) || status.starts_with("Mounted from ")
}

/// Layer ids are 12 hex digits; other ids name the tag being moved.
fn is_layer_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn announced_digest(status: &str) -> Option<String> {
    let rest = status
        .strip_prefix("Digest: ")
        .or_else(|| status.split_once(": digest: ").map(|(_, rest)| rest))?;
    let digest = rest.split_whitespace().next()?;
    digest.starts_with("sha256:").then(|| digest.to_owned())
}

/// How a transfer ended badly.
#[derive(Debug)]
pub enum TransferError {
    /// The Engine (or the registry through it) reported this message.
    Reported(String),
    /// The request to the Engine failed.
    Engine(EngineError),
    /// Nothing arrived for this long.
    Silent(Duration),
}

/// One item of a followed transfer.
pub enum Step {
    Message(TransferMessage),
    End,
}

/// The next message of `stream`, or an error when the Engine says nothing
/// within `idle`.
pub async fn next_message(
    stream: &mut BoxStream<'_, Result<TransferMessage, EngineError>>,
    idle: Duration,
) -> Result<Step, TransferError> {
    match tokio::time::timeout(idle, stream.next()).await {
        Err(_) => Err(TransferError::Silent(idle)),
        Ok(None) => Ok(Step::End),
        Ok(Some(Err(error))) => Err(TransferError::Engine(error)),
        Ok(Some(Ok(TransferMessage::Error(message)))) => Err(TransferError::Reported(message)),
        Ok(Some(Ok(message))) => Ok(Step::Message(message)),
    }
}

/// Runs one transfer per name at once (`start(i)` opens the i-th stream),
/// reporting progress as layers start and finish; returns each one's end.
pub async fn run_all<'e>(
    action: &'static str,
    names: &[String],
    start: impl Fn(usize) -> BoxStream<'e, Result<TransferMessage, EngineError>>,
    idle: Duration,
    progress: &mut dyn ProgressSink,
) -> Vec<Result<TransferState, TransferError>> {
    if names.is_empty() {
        return Vec::new();
    }
    progress.event(Event::TransfersStarted { action, names });
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(usize, TransferMessage)>();
    let jobs: Vec<_> = (0..names.len())
        .map(|index| {
            let sender = sender.clone();
            let mut stream = start(index);
            async move {
                loop {
                    match next_message(&mut stream, idle).await? {
                        Step::Message(message) => {
                            let _ = sender.send((index, message));
                        }
                        Step::End => return Ok(()),
                    }
                }
            }
        })
        .collect();
    drop(sender);
    let mut states = vec![TransferState::default(); names.len()];
    let report = async {
        while let Some((index, message)) = receiver.recv().await {
            let TransferMessage::Status {
                id,
                status,
                current,
                ..
            } = message
            else {
                continue;
            };
            let state = &mut states[index];
            let bytes_before = state.bytes();
            let changed = state.update(id.as_deref(), &status, current);
            // Byte counts move often; report them in steps of a mebibyte.
            if changed || state.bytes() / (1 << 20) != bytes_before / (1 << 20) {
                progress.event(Event::Transfer {
                    action,
                    name: &names[index],
                    layers_done: state.layers_done(),
                    layers: state.layers(),
                    bytes: state.bytes(),
                });
            }
        }
    };
    let (ends, ()) = tokio::join!(futures_util::future::join_all(jobs), report);
    ends.into_iter()
        .zip(states)
        .map(|(end, state)| end.map(|()| state))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_digests_are_followed() {
        let mut state = TransferState::default();
        assert!(!state.update(Some("v1"), "Pulling from team/base", None));
        assert!(state.update(Some("0123456789ab"), "Pulling fs layer", None));
        assert!(state.update(Some("ba9876543210"), "Already exists", None));
        assert!(!state.update(Some("0123456789ab"), "Downloading", Some(500)));
        assert_eq!(state.bytes(), 500);
        assert!(state.update(Some("0123456789ab"), "Pull complete", None));
        assert_eq!((state.layers_done(), state.layers()), (2, 2));
        state.update(None, "Digest: sha256:aa11", None);
        assert_eq!(state.digest.as_deref(), Some("sha256:aa11"));
        let mut push = TransferState::default();
        assert!(push.update(None, "Preparing", None));
        assert!(push.update(None, "Preparing", None));
        assert!(push.update(None, "Layer already exists", None));
        assert!(push.update(None, "Mounted from team/other", None));
        assert_eq!((push.layers_done(), push.layers()), (2, 2));
        push.update(None, "v1: digest: sha256:bb22 size: 527", None);
        assert_eq!(push.digest.as_deref(), Some("sha256:bb22"));
        let mut current = TransferState::default();
        current.update(None, "Status: Image is up to date for x:1", None);
        assert!(current.up_to_date);
    }
}
