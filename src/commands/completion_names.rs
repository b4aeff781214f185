//! Names for shell completion: the targets and stages of the stages.toml
//! found from the current directory (as the commands find it without
//! `-f`). A file that does not load completes nothing; completion never
//! prints an error.

use clap_complete::CompletionCandidate;

use super::common::find_config;
use crate::cli::ConfigArg;
use crate::config::load::load_manifest;
use crate::config::raw::Manifest;
use crate::diagnostics::SourceFile;

fn manifest() -> Option<Manifest> {
    let path = find_config(&ConfigArg { file: None });
    let text = crate::input::read_text(&path).ok()?;
    load_manifest(&SourceFile::new(path.display().to_string(), text)).ok()
}

/// Targets first, then the stages that are not also a target's name
/// (wherever a target is taken, a stage works too).
pub fn targets_and_stages() -> Vec<CompletionCandidate> {
    manifest().map_or_else(Vec::new, |manifest| names(&manifest, true))
}

/// The stages only (`--no-cache-filter`).
pub fn stages() -> Vec<CompletionCandidate> {
    manifest().map_or_else(Vec::new, |manifest| names(&manifest, false))
}

fn names(manifest: &Manifest, with_targets: bool) -> Vec<CompletionCandidate> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    if with_targets {
        for name in manifest.targets.keys() {
            seen.push(name.value.clone());
            out.push(CompletionCandidate::new(&name.value).help(Some("target".into())));
        }
    }
    for name in manifest.stages.keys() {
        if !seen.contains(&name.value) {
            out.push(CompletionCandidate::new(&name.value).help(Some("stage".into())));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn targets_come_first_and_a_stage_named_like_a_target_once() {
        let manifest = toml::from_str(
            "[stages.build]\nfrom = \"a\"\n[stages.app]\nfrom = \"b\"\n[targets.app]\nstage = \"app\"\n",
        )
        .expect("manifest");
        let all: Vec<String> = names(&manifest, true)
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(all, ["app", "build"]);
        let stages: Vec<String> = names(&manifest, false)
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(stages, ["build", "app"]);
    }
}
