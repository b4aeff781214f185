//! A multi-platform image target pushed with several remote builders,
//! end to end on two real `buildkitd` daemons and a real registry
//! (`buildkitd_support`): each platform is a part built on whichever
//! builder is free, and stages puts the parts' manifests together in the
//! index the tag names. What the registry holds is read back, not what
//! stages says it pushed.

mod buildkitd_support;
mod engine_support;
mod registry_support;

use std::collections::BTreeSet;

use buildkitd_support::{Farm, build_losing_the_first_builder, build_on};
use engine_support::{Project, engine, unique};
use registry_support::Registry;

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// One image target of `platforms`, tagged `tag`, whose stage has `steps`.
fn parts_project(base: &str, tag: &str, steps: &str, platforms: &[&str]) -> Project {
    let platforms: Vec<String> = platforms.iter().map(|p| format!("\"{p}\"")).collect();
    Project::new(&format!(
        "[stages.app]\nfrom = \"{base}\"\nsteps = [{steps}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\nplatforms = [{}]\n",
        platforms.join(", ")
    ))
    .file("hello.txt", "hello\n")
}

/// The summary lines about `app (PLATFORM)`, their words joined by one
/// space (the label column is padded).
fn part_lines(stderr: &str, platform: &str) -> Vec<String> {
    let label = format!("app ({platform}) ");
    stderr
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with(&label))
        .collect()
}

/// The builder the summary says built `app (PLATFORM)`.
fn builder_of_part(stderr: &str, platform: &str) -> Option<String> {
    let lines = part_lines(stderr, platform);
    let line = lines.iter().find(|l| l.contains(" pushed on "))?;
    let after = line.split(" pushed on ").nth(1)?;
    after.split_whitespace().next().map(str::to_owned)
}

/// Checks the index under `name:tag` names exactly `platforms`, each
/// entry a manifest the repository holds whose config says its platform;
/// the index's digest.
fn check_index(
    registry: &Registry,
    name: &str,
    tag: &str,
    platforms: &[&str],
    log: &str,
) -> String {
    let index = registry
        .manifest(name, tag)
        .unwrap_or_else(|| panic!("no manifest under {name}:{tag}:\n{log}"));
    let media_type = index["mediaType"].as_str().unwrap_or_default();
    assert!(INDEX_TYPES.contains(&media_type), "not an index: {index}");
    let entries = index["manifests"].as_array().cloned().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for entry in &entries {
        let platform = &entry["platform"];
        let named = format!(
            "{}/{}",
            platform["os"].as_str().unwrap_or_default(),
            platform["architecture"].as_str().unwrap_or_default()
        );
        let digest = entry["digest"].as_str().unwrap_or_default();
        let manifest = registry
            .manifest(name, digest)
            .unwrap_or_else(|| panic!("the index names {digest}, which {name} lacks: {index}"));
        assert_eq!(
            manifest["mediaType"], entry["mediaType"],
            "{digest}: {manifest}"
        );
        let config_digest = manifest["config"]["digest"].as_str().unwrap_or_default();
        let config = registry
            .json_blob(name, config_digest)
            .unwrap_or_else(|| panic!("{name} lacks the config of {digest}: {manifest}"));
        assert_eq!(config["os"], platform["os"], "{digest}");
        assert_eq!(config["architecture"], platform["architecture"], "{digest}");
        assert!(entry["size"].as_u64().is_some_and(|s| s > 0), "{entry}");
        seen.insert(named);
    }
    let wanted: BTreeSet<String> = platforms.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(seen, wanted, "{index}");
    assert_eq!(entries.len(), platforms.len(), "{index}");
    registry
        .manifest_digest(name, tag)
        .unwrap_or_else(|| panic!("no digest for {name}:{tag}"))
}

#[test]
fn the_platforms_of_a_pushed_target_are_built_on_both_builders_and_put_in_one_index() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let name = unique("stages-parts");
    let tag = farm.registry.image(&format!("{name}:1"));
    let platforms = ["linux/amd64", "linux/arm64"];
    let project = parts_project(
        &farm.base,
        &tag,
        "{ copy = \"hello.txt\", to = \"/hello.txt\" }",
        &platforms,
    );
    let run = build_on(&project, &farm.addresses(), &["--push"]).success();
    let builders: BTreeSet<String> = platforms
        .iter()
        .map(|p| {
            builder_of_part(&run.stderr, p)
                .unwrap_or_else(|| panic!("no summary line for app ({p}):\n{}", run.describe()))
        })
        .collect();
    let addresses: BTreeSet<String> = farm.addresses().into_iter().collect();
    assert_eq!(
        builders,
        addresses,
        "each builder builds one part:\n{}",
        run.describe()
    );
    let digest = check_index(&farm.registry, &name, "1", &platforms, &run.describe());
    assert!(
        run.stderr.contains(&format!("index {digest}")),
        "the summary names another index than the tag's ({digest}):\n{}",
        run.describe()
    );
    assert_eq!(farm.registry.tags(&name), ["1"], "{}", run.describe());
}

#[test]
fn a_part_whose_builder_is_killed_is_rerun_on_the_other_and_the_index_is_whole() {
    engine();
    let Some(mut farm) = Farm::start() else {
        return;
    };
    let name = unique("stages-parts-rerun");
    let tag = farm.registry.image(&format!("{name}:1"));
    // Both platforms run on an x86-64 builder without emulation, so the
    // steps may take long enough for a builder to be killed mid-part.
    let platforms = ["linux/amd64", "linux/386"];
    let project = parts_project(
        &farm.base,
        &tag,
        "{ run = \"sleep 6 && echo part-done > /done\" }",
        &platforms,
    );
    let victim = farm.daemons[0].address.clone();
    let seen = build_losing_the_first_builder(&mut farm, &project, &["--push"]);
    let lost = format!("re-run: builder {victim} was lost");
    assert_eq!(
        seen.lines().filter(|l| l.contains(&lost)).count(),
        1,
        "one part is re-run:\n{seen}"
    );
    let named = platforms
        .iter()
        .filter(|p| part_lines(&seen, p).iter().any(|l| l.contains(&lost)))
        .count();
    assert_eq!(named, 1, "the re-run line names no part:\n{seen}");
    let survivor = &farm.daemons[1].address;
    for platform in platforms {
        assert_eq!(
            builder_of_part(&seen, platform).as_deref(),
            Some(survivor.as_str()),
            "{seen}"
        );
    }
    check_index(&farm.registry, &name, "1", &platforms, &seen);
}

/// A step that fails for one platform only fails its part, the target
/// with it, and no tag is set, though the other part was pushed.
#[test]
fn a_step_failing_in_one_part_fails_the_target_and_tags_nothing() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let name = unique("stages-parts-fail");
    let tag = farm.registry.image(&format!("{name}:1"));
    let text = format!(
        "[stages.app]\nfrom = \"{}\"\nargs = {{ TARGETARCH = {{}} }}\nsteps = [{{ run = \"echo arch-$TARGETARCH && test $TARGETARCH != 386\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\nplatforms = [\"linux/amd64\", \"linux/386\"]\n",
        farm.base
    );
    let project = Project::new(&text);
    let run = build_on(&project, &farm.addresses(), &["--push"]).exit(1);
    let text = run.flat_stderr();
    assert!(
        text.contains("for linux/386: step 1 (RUN) of stage `app` failed"),
        "{}",
        run.describe()
    );
    assert_eq!(
        part_lines(&run.stderr, "linux/386")
            .iter()
            .filter(|l| l.contains(" failed on "))
            .count(),
        1,
        "{}",
        run.describe()
    );
    assert!(!text.contains("re-run"), "{}", run.describe());
    assert!(!text.contains(" index sha256:"), "{}", run.describe());
    assert!(
        farm.registry.tags(&name).is_empty(),
        "a failed part let the tag move:\n{}",
        run.describe()
    );
}
