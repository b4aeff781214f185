//! The end of a stage: the settings its image ends with (its image
//! configuration and, on the target's stage, the target's labels) and the
//! key of that last step. `copy_group` applies it, with the WORKDIRs the
//! stage set (Docker creates them), in the commit of the stage's last
//! copies or in one of its own.

use super::build::NativeBuild;
use super::engine_api::StepEngine;
use super::settings::{SettingsError, apply_image_config};
use super::step_common::StageState;
use crate::config::model::ImageConfig;

/// The settings the stage's image ends with: its image configuration, and
/// the target's labels when the stage is the one the target wants.
pub fn final_settings<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    config: &ImageConfig,
) -> Result<(), SettingsError> {
    apply_image_config(&mut state.settings, config, &state.scope)?;
    if build.options.labelled_stage.as_deref() == Some(state.stage.as_str()) {
        state
            .settings
            .labels
            .extend(build.options.target_labels.clone());
    }
    Ok(())
}

/// The key of the configuration step, from `state` with its final settings.
pub fn key(state: &StageState) -> String {
    state.key("CONFIG", Vec::new(), state.workdirs.clone())
}
