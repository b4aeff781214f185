//! Stopping a build cleanly. `Interrupt` tells a running build to stop at
//! the next safe point; `Janitor` knows the containers a build created, so
//! a failed or interrupted build leaves none behind. The classic builder's
//! intermediate containers are tracked from its `---> Running in <id>`
//! lines; containers `stages` creates itself carry the build's label.
//! `sweep` removes both.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::client::{Engine, EngineError};
use super::image_labels::BUILD;

/// How often a container whose removal is already under way is retried.
const REMOVE_ATTEMPTS: usize = 25;
const REMOVE_RETRY: Duration = Duration::from_millis(200);

/// A request to stop, shared by everything a build runs.
#[derive(Debug, Clone)]
pub struct Interrupt {
    receiver: tokio::sync::watch::Receiver<bool>,
}

/// Fires the `Interrupt` it was made with.
#[derive(Debug)]
pub struct InterruptTrigger {
    sender: tokio::sync::watch::Sender<bool>,
}

impl Interrupt {
    pub fn new() -> (Self, InterruptTrigger) {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        (Self { receiver }, InterruptTrigger { sender })
    }

    /// An interrupt that never fires.
    pub fn never() -> Self {
        Self::new().0
    }

    pub fn is_requested(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once a stop is requested (never, if the trigger is dropped
    /// unfired).
    pub async fn requested(&self) {
        let mut receiver = self.receiver.clone();
        if receiver.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl InterruptTrigger {
    pub fn fire(&self) {
        let _ = self.sender.send(true);
    }
}

/// The containers one build owns.
#[derive(Debug, Clone)]
pub struct Janitor {
    build_id: String,
    tracked: Arc<Mutex<Vec<String>>>,
}

impl Default for Janitor {
    fn default() -> Self {
        Self::new()
    }
}

impl Janitor {
    /// A janitor with a fresh build id.
    pub fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            build_id: format!("{}-{nanos:x}", std::process::id()),
            tracked: Arc::default(),
        }
    }

    /// The value of the `dev.stages.build` label on this build's containers.
    pub fn build_id(&self) -> &str {
        &self.build_id
    }

    /// The label (key, value) to put on containers this build creates.
    pub fn label(&self) -> (String, String) {
        (BUILD.to_owned(), self.build_id.clone())
    }

    pub fn track(&self, container: &str) {
        let mut tracked = self.lock();
        if !tracked.iter().any(|c| c == container) {
            tracked.push(container.to_owned());
        }
    }

    /// The container is gone (removed by the builder or by us).
    pub fn forget(&self, container: &str) {
        self.lock()
            .retain(|c| !c.starts_with(container) && !container.starts_with(c.as_str()));
    }

    pub fn tracked(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// Removes every tracked or labelled container; returns what could not
    /// be removed.
    pub async fn sweep<E: Engine>(&self, engine: &E) -> Vec<EngineError> {
        let mut targets = self.tracked();
        let mut errors = Vec::new();
        match engine.containers_labelled(BUILD, &self.build_id).await {
            Ok(labelled) => targets.extend(labelled),
            Err(error) => errors.push(error),
        }
        for container in targets {
            if let Err(error) = remove_until_gone(engine, &container).await {
                errors.push(error);
            } else {
                self.forget(&container);
            }
        }
        errors
    }

    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        self.tracked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Removes a container, waiting out a removal or stop already under way.
pub(crate) async fn remove_until_gone<E: Engine>(
    engine: &E,
    container: &str,
) -> Result<(), EngineError> {
    let mut attempt = 0;
    loop {
        match engine.remove_container(container).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_not_found() => return Ok(()),
            // The daemon may be removing it already (409) or still stopping it.
            Err(error) if attempt + 1 >= REMOVE_ATTEMPTS => return Err(error),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(REMOVE_RETRY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_ids_are_the_same_container() {
        let janitor = Janitor::new();
        janitor.track("5f2c0a1b9e3d");
        janitor.track("5f2c0a1b9e3d");
        assert_eq!(janitor.tracked().len(), 1);
        janitor.forget("5f2c0a1b9e3d0123456789");
        assert!(janitor.tracked().is_empty());
    }

    #[tokio::test]
    async fn interrupts_fire_once_and_stay_fired() {
        let (interrupt, trigger) = Interrupt::new();
        assert!(!interrupt.is_requested());
        trigger.fire();
        interrupt.requested().await;
        assert!(interrupt.clone().is_requested());
    }

    #[test]
    fn build_ids_differ() {
        assert_ne!(Janitor::new().build_id(), Janitor::new().build_id());
    }
}
