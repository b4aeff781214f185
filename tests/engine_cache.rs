//! The native back end's step cache on the real Engine: each project has
//! its own, tagged so that `docker image prune` keeps it and bounded by
//! least recent use; `stages cache ls` / `prune` act on this project
//! unless `--all`. Every test removes only its own projects' entries.
//! FAILS when the Engine is unreachable.

mod engine_support;

use engine_support::{Project, Run, engine, stages, unique};

fn build(project: &Project, extra: &[&str]) -> Run {
    let output = stages()
        .current_dir(project.path())
        .args(["build", "--progress", "plain"])
        .args(extra)
        .output()
        .expect("run stages");
    Run::from(output)
}

fn cache(project: &Project, args: &[&str]) -> Run {
    let output = stages()
        .current_dir(project.path())
        .arg("cache")
        .args(args)
        .output()
        .expect("run stages cache");
    Run::from(output)
}

/// A stage whose one step prints `<marker>-ran-2` only when it runs.
fn one_step(stage: &str, marker: &str, extra: &str) -> String {
    format!(
        r#"
[stages.{stage}]
from = "busybox:stages-test"
steps = [{{ run = "{extra}echo {marker} > /m && echo {marker}-ran-$((1 + 1))" }}]
"#
    )
}

fn ran(run: &Run, marker: &str) -> bool {
    run.stderr.contains(&format!("{marker}-ran-2"))
}

#[test]
fn cache_ls_and_prune_keep_to_this_project() {
    engine();
    let mine_marker = unique("mine");
    let other_marker = unique("other");
    let mine = Project::new(&one_step("only", &mine_marker, ""));
    let other = Project::new(&one_step("only", &other_marker, ""));
    assert!(ran(&build(&mine, &[]).success(), &mine_marker));
    assert!(ran(&build(&other, &[]).success(), &other_marker));

    let listed = cache(&mine, &["ls"]).success();
    assert!(
        listed.stdout.contains(&format!("RUN echo {mine_marker}")),
        "{}",
        listed.describe()
    );
    assert!(
        !listed.stdout.contains(&other_marker),
        "{}",
        listed.describe()
    );
    let everything = cache(&mine, &["ls", "--all"]).success();
    for marker in [&mine_marker, &other_marker] {
        assert!(
            everything.stdout.contains(marker.as_str()),
            "{}",
            everything.describe()
        );
    }
    assert!(
        everything.stdout.contains(&other.id()),
        "{}",
        everything.describe()
    );

    let bad = cache(&mine, &["prune", "--keep-storage", "plenty"]);
    assert_eq!(bad.code, Some(2), "{}", bad.describe());
    let pruned = cache(&mine, &["prune"]).success();
    assert!(
        pruned.stdout.contains("removed 1 cached steps"),
        "{}",
        pruned.describe()
    );
    assert!(
        !cache(&mine, &["ls"])
            .success()
            .stdout
            .contains(&mine_marker)
    );
    assert!(
        ran(&build(&mine, &[]).success(), &mine_marker),
        "pruned, it runs again"
    );

    // The other project's entry survived, and outlives this project.
    drop(mine);
    let listed = cache(&other, &["ls"]).success();
    assert!(
        listed.stdout.contains(&other_marker),
        "{}",
        listed.describe()
    );
    assert!(
        !ran(&build(&other, &[]).success(), &other_marker),
        "still cached"
    );
}

#[test]
fn docker_image_prune_leaves_the_cache() {
    engine();
    let marker = unique("dangling");
    // A stage name no other test uses: the prune below is limited to it.
    let stage = format!("s{}", marker.replace('-', "x"));
    let project = Project::new(&one_step(&stage, &marker, ""));
    assert!(ran(&build(&project, &[]).success(), &marker));
    let prune = std::process::Command::new("docker")
        .args([
            "image",
            "prune",
            "--force",
            "--filter",
            &format!("label=dev.stages.stage={stage}"),
        ])
        .output()
        .expect("docker image prune");
    assert!(prune.status.success(), "{prune:?}");
    let again = build(&project, &[]).success();
    assert!(
        !ran(&again, &marker),
        "the cache was pruned: {}",
        again.describe()
    );
}

#[test]
fn the_least_recently_used_steps_go_beyond_the_bound() {
    engine();
    let a = unique("lru-a");
    let b = unique("lru-b");
    let blob = "dd if=/dev/zero of=/blob bs=1024 count=2048 2>/dev/null && ";
    let toml = format!(
        "{}{}",
        one_step("alpha", &a, blob),
        one_step("bravo", &b, blob)
    );
    let project = Project::new(&toml);
    assert!(ran(
        &build(&project, &["alpha", "--cache-max", "none"]).success(),
        &a
    ));
    // Two 2 MB steps do not fit in 3 MB: the one this build did not use goes
    // (a stage without configuration of its own has no commit after it: a
    // target's image takes nothing the stage did not set).
    let second = build(&project, &["bravo", "--cache-max", "3MB"]).success();
    assert!(
        second
            .stderr
            .contains("cache: removed 1 least recently used steps"),
        "{}",
        second.describe()
    );
    let listed = cache(&project, &["ls"]).success().stdout;
    // The listing shows the stage; the step's text is cut short.
    assert!(
        listed.contains(" bravo ") && !listed.contains(" alpha "),
        "{listed}"
    );
    assert!(ran(
        &build(&project, &["alpha", "--cache-max", "none"]).success(),
        &a
    ));

    // The bound can come from the environment; what the build used stays
    // even when it alone is over the bound.
    let output = stages()
        .current_dir(project.path())
        .args(["build", "bravo", "--progress", "plain"])
        .env("STAGES_CACHE_MAX", "1B")
        .output()
        .expect("run stages");
    let third = Run::from(output).success();
    assert!(!ran(&third, &b), "{}", third.describe());
    assert!(
        third
            .stderr
            .contains("cache: removed 1 least recently used steps")
    );
    let listed = cache(&project, &["ls"]).success().stdout;
    // The listing shows the stage; the step's text is cut short.
    assert!(
        listed.contains(" bravo ") && !listed.contains(" alpha "),
        "{listed}"
    );

    let refused = build(&project, &["bravo", "--cache-max", "lots"]);
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.flat_stderr().contains("is not a size"),
        "{}",
        refused.describe()
    );
}

/// A deleted checkout's state (build locks, cache-use times, build
/// records) outlives it, as it lives outside the project: `cache prune
/// --all` removes it once none of its cached steps is left, and keeps
/// the state of projects that still exist or still have cached steps.
#[test]
fn prune_all_removes_the_state_of_deleted_projects() {
    engine();
    let state = tempfile::tempdir().expect("state dir");
    let in_state = |project: &Project, args: &[&str]| {
        let output = stages()
            .env("STAGES_STATE_DIR", state.path())
            .current_dir(project.path())
            .args(args)
            .output()
            .expect("run stages");
        Run::from(output)
    };
    let projects_dir = state.path().join("projects");
    let state_dirs = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&projects_dir)
            .map(|dir| {
                dir.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    let (gone_marker, cached_marker, kept_marker) =
        (unique("gone"), unique("cached"), unique("kept"));
    let gone = Project::new(&one_step("only", &gone_marker, ""));
    let cached = Project::new(&one_step("only", &cached_marker, ""));
    let kept = Project::new(&one_step("only", &kept_marker, ""));
    for project in [&gone, &cached, &kept] {
        in_state(project, &["build", "--progress", "plain"]).success();
    }
    let ids = |project: &Project| {
        let listed = in_state(project, &["cache", "ls"]).success();
        listed
            .stderr
            .lines()
            .find_map(|line| line.strip_prefix("project ")?.split(':').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no project id in {}", listed.describe()))
    };
    let (gone_id, cached_id, kept_id) = (ids(&gone), ids(&cached), ids(&kept));
    assert_eq!(state_dirs().len(), 3, "{:?}", state_dirs());

    // One deleted project without cached steps, one with.
    in_state(&gone, &["cache", "prune"]).success();
    std::fs::remove_dir_all(gone.path()).expect("delete the project");
    let cached_path = cached.path().to_owned();
    std::fs::rename(&cached_path, cached_path.with_extension("moved")).expect("move");

    let listed = in_state(&kept, &["cache", "ls", "--all"]).success();
    assert!(
        listed.stderr.contains(&format!(
            "project {cached_id} is {} (deleted)",
            cached_path.display()
        )),
        "{}",
        listed.describe()
    );

    // A budget no cache reaches: no cached step of any project goes.
    let pruned = in_state(
        &kept,
        &["cache", "prune", "--all", "--keep-storage", "1000GB"],
    )
    .success();
    assert!(
        pruned.stdout.contains(&format!(
            "removed the state of deleted project {}",
            gone.path().display()
        )),
        "{}",
        pruned.describe()
    );
    assert!(
        pruned.stderr.contains(&format!(
            "kept the state of deleted project {}: it still has cached steps",
            cached_path.display()
        )),
        "{}",
        pruned.describe()
    );
    let mut left = vec![cached_id.clone(), kept_id.clone()];
    left.sort();
    assert_eq!(state_dirs(), left);
    assert!(!state_dirs().contains(&gone_id));

    // Its cached steps gone, the moved project's state goes too.
    std::fs::rename(cached_path.with_extension("moved"), &cached_path).expect("move back");
    in_state(&cached, &["cache", "prune"]).success();
    std::fs::remove_dir_all(&cached_path).expect("delete the project");
    let pruned = in_state(
        &kept,
        &["cache", "prune", "--all", "--keep-storage", "1000GB"],
    )
    .success();
    assert!(
        pruned
            .stdout
            .contains("removed the state of deleted project"),
        "{}",
        pruned.describe()
    );
    assert_eq!(state_dirs(), vec![kept_id]);
    in_state(&kept, &["cache", "prune"]).success();
}
