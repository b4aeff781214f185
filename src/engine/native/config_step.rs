//! The end of a stage: its image configuration applied (and, on the
//! target's stage, the target's labels), the WORKDIRs it set created when
//! missing (Docker creates them), and one commit when the image's
//! configuration differs from what it should be. `copy_group` folds the
//! same work into the commit of a stage's last copies.

use std::collections::BTreeMap;

use super::build::{NativeBuild, StageFailure};
use super::copy_step::create_missing_dirs;
use super::engine_api::StepEngine;
use super::group_container::GroupContainer;
use super::owner::Owner;
use super::settings::{SettingsError, apply_image_config};
use super::step_common::{StageState, StepRef, cached, commit, idle_container, with_container};
use crate::config::model::ImageConfig;

pub async fn finish<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    at: &StepRef,
    config: &ImageConfig,
) -> Result<(), StageFailure> {
    final_settings(build, state, config).map_err(|e| at.fail(state, e))?;
    if state.settings == state.committed && state.workdirs.is_empty() {
        return Ok(());
    }
    build
        .observer
        .step_started(&state.stage, at.index, &at.text);
    let key = key(state);
    if let Some(image) = cached(build, state, &key)
        .await
        .map_err(|e| at.fail(state, e))?
    {
        state.image = image;
        state.committed = state.settings.clone();
        build.observer.step_cached(&state.stage, at.index);
        return Ok(());
    }
    let snapshot: &StageState = state;
    let key_ref = &key;
    let image = with_container(
        build,
        idle_container(&snapshot.image, build.container_labels()),
        |id| async move {
            let mut target = GroupContainer::new(build, id);
            create_missing_dirs(&mut target, &snapshot.workdirs, Owner::default(), "workdir")
                .await?;
            target.flush().await?;
            commit(build, snapshot, target.id(), key_ref, &at.text).await
        },
    )
    .await
    .map_err(|e| at.fail(state, e))?;
    state.image = image;
    state.committed = state.settings.clone();
    Ok(())
}

/// The settings the stage's image ends with: its image configuration, and
/// the target's labels when the stage is the one the target wants.
pub fn final_settings<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    config: &ImageConfig,
) -> Result<(), SettingsError> {
    apply_image_config(&mut state.settings, config, &state.scope)?;
    if build.options.labelled_stage.as_deref() == Some(state.stage.as_str()) {
        let labels: &BTreeMap<String, String> = &build.options.target_labels;
        state.settings.labels.extend(labels.clone());
    }
    Ok(())
}

/// The key of the configuration step, from `state` with its final settings.
pub fn key(state: &StageState) -> String {
    state.key("CONFIG", Vec::new(), state.workdirs.clone())
}
