//! Each kind of reason, from two records that differ in one input.

use super::explain::explain;
use super::record::{
    BaseRecord, BuildRecord, FileRecord, RECORD_VERSION, SettingsRecord, StageRecord, StepRecord,
    UpstreamRecord,
};
use super::recorder::Recorder;

fn file(path: &str, digest: &str) -> FileRecord {
    FileRecord {
        path: path.into(),
        digest: digest.into(),
    }
}

/// `COPY src/ ./` reading three files.
fn copy_step() -> StepRecord {
    let mut step = StepRecord {
        index: 0,
        text: "COPY src/ ./".into(),
        key: "sha256:copy".into(),
        parent: "sha256:base".into(),
        env: vec![("PATH".into(), "/bin".into())],
        settings: SettingsRecord {
            workdir: "/app".into(),
            digest: "settings-1".into(),
            ..SettingsRecord::default()
        },
        context_digest: Some("ctx-1".into()),
        ..StepRecord::default()
    };
    step.set_files(vec![
        file("src/main.rs", "a"),
        file("src/lib.rs", "b"),
        file("src/util.rs", "c"),
    ]);
    step
}

/// `RUN make` seeing ARG VERSION.
fn run_step() -> StepRecord {
    StepRecord {
        index: 1,
        text: "RUN make".into(),
        key: "sha256:run".into(),
        parent: "sha256:after-copy".into(),
        args: [("VERSION".to_owned(), "1.2".to_owned())].into(),
        env: vec![("PATH".into(), "/bin".into())],
        settings: SettingsRecord {
            workdir: "/app".into(),
            digest: "settings-1".into(),
            ..SettingsRecord::default()
        },
        ..StepRecord::default()
    }
}

/// `COPY --from=builder /out/app /app`.
fn from_builder() -> StepRecord {
    StepRecord {
        index: 0,
        text: "COPY --from=builder /out/app /app".into(),
        key: "sha256:from".into(),
        parent: "sha256:alpine".into(),
        upstream: vec![UpstreamRecord {
            name: "builder".into(),
            stage: true,
            image: "sha256:builder-1".into(),
            via: "COPY --from=builder".into(),
        }],
        ..StepRecord::default()
    }
}

fn stage(base: &str, image: &str, steps: Vec<StepRecord>) -> StageRecord {
    StageRecord {
        base: BaseRecord {
            name: base.into(),
            stage: false,
            image: image.into(),
        },
        no_cache: false,
        built: true,
        steps,
    }
}

/// The earlier build: stage builder (copy, run), stage runtime (copy from builder).
fn previous() -> BuildRecord {
    let mut record = BuildRecord {
        version: RECORD_VERSION,
        backend: "native".into(),
        dockerignore: Some("ignore-1".into()),
        ..BuildRecord::default()
    };
    let mut copy = copy_step();
    copy.cached = true;
    let mut run = run_step();
    run.cached = true;
    record.stages.insert(
        "builder".into(),
        stage("golang:1.22", "sha256:go-1", vec![copy, run]),
    );
    record.stages.insert(
        "runtime".into(),
        stage("alpine:3", "sha256:alpine", vec![from_builder()]),
    );
    record
}

/// A build in progress with `stage` started like the earlier one and
/// `done` steps already noted.
fn current(stage_name: &str, done: Vec<StepRecord>) -> BuildRecord {
    let mut record = previous();
    for stage in record.stages.values_mut() {
        for step in &mut stage.steps {
            step.cached = true;
        }
    }
    if let Some(stage) = record.stages.get_mut(stage_name) {
        stage.steps = done;
    }
    record
}

fn first_reason(current: &BuildRecord, stage: &str, step: &StepRecord) -> String {
    explain(Some(&previous()), current, stage, step)
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[test]
fn a_changed_file_is_named_with_how_many_more() {
    let mut step = copy_step();
    step.key = "sha256:copy-2".into();
    step.context_digest = Some("ctx-2".into());
    step.set_files(vec![
        file("src/main.rs", "a2"),
        file("src/lib.rs", "b2"),
        file("src/util.rs", "c2"),
    ]);
    let text = first_reason(&current("builder", vec![]), "builder", &step);
    assert_eq!(text, "src/lib.rs changed (and 2 more files)");
    step.set_files(vec![
        file("src/main.rs", "a2"),
        file("src/lib.rs", "b"),
        file("src/util.rs", "c"),
    ]);
    let text = first_reason(&current("builder", vec![]), "builder", &step);
    assert_eq!(text, "src/main.rs changed");
}

#[test]
fn added_and_removed_files_are_named() {
    let mut step = copy_step();
    step.key = "sha256:copy-2".into();
    step.context_digest = Some("ctx-2".into());
    let mut files = copy_step().files;
    files.push(file("src/new.rs", "n"));
    step.set_files(files);
    assert_eq!(
        first_reason(&current("builder", vec![]), "builder", &step),
        "src/new.rs added"
    );
    step.set_files(vec![file("src/main.rs", "a")]);
    assert_eq!(
        first_reason(&current("builder", vec![]), "builder", &step),
        "src/lib.rs removed (and 1 more file)"
    );
}

#[test]
fn a_dockerignore_change_that_brings_a_file_in_or_out_says_so() {
    let mut step = copy_step();
    step.key = "sha256:copy-2".into();
    step.context_digest = Some("ctx-2".into());
    let mut files = copy_step().files;
    files.push(file("src/secret.txt", "s"));
    step.set_files(files);
    let mut now = current("builder", vec![]);
    now.dockerignore = Some("ignore-2".into());
    assert_eq!(
        first_reason(&now, "builder", &step),
        ".dockerignore changed: src/secret.txt is now included"
    );
    step.set_files(vec![file("src/main.rs", "a"), file("src/lib.rs", "b")]);
    now.dockerignore = None;
    assert_eq!(
        first_reason(&now, "builder", &step),
        ".dockerignore changed: src/util.rs is now excluded"
    );
}

#[test]
fn an_arg_change_shows_both_values() {
    let mut step = run_step();
    step.key = "sha256:run-2".into();
    step.args.insert("VERSION".into(), "1.3".into());
    let mut copy = copy_step();
    copy.cached = true;
    let now = current("builder", vec![copy.clone()]);
    assert_eq!(
        first_reason(&now, "builder", &step),
        "ARG VERSION 1.2 → 1.3"
    );
    step.args.clear();
    assert_eq!(
        first_reason(&now, "builder", &step),
        "ARG VERSION no longer set (was 1.2)"
    );
    step.args.insert("MODE".into(), "fast".into());
    let reasons = explain(Some(&previous()), &now, "builder", &step);
    assert_eq!(reasons[0].to_string(), "ARG MODE now set (fast)");
    assert_eq!(reasons[0].kind(), "arg");
}

#[test]
fn an_env_change_shows_both_values() {
    let mut step = run_step();
    step.key = "sha256:run-2".into();
    step.env = vec![("PATH".into(), "/usr/bin:/bin".into())];
    step.settings.digest = "settings-2".into();
    let mut copy = copy_step();
    copy.cached = true;
    let now = current("builder", vec![copy]);
    let reasons = explain(Some(&previous()), &now, "builder", &step);
    assert_eq!(reasons[0].to_string(), "ENV PATH /bin → /usr/bin:/bin");
    assert_eq!(
        reasons.len(),
        1,
        "the settings digest is not told twice: {reasons:?}"
    );
    step.env.push(("DEBUG".into(), "1".into()));
    step.env.remove(0);
    assert_eq!(
        first_reason(&now, "builder", &step),
        "ENV DEBUG now set (1)"
    );
}

#[test]
fn a_moved_base_image_names_its_new_id() {
    let mut step = copy_step();
    step.key = "sha256:copy-2".into();
    step.parent = "sha256:go-2".into();
    let mut now = current("builder", vec![]);
    if let Some(builder) = now.stages.get_mut("builder") {
        builder.base.image = "sha256:0123456789abcdef0123".into();
    }
    assert_eq!(
        first_reason(&now, "builder", &step),
        "base image golang:1.22 moved to sha256:0123456789ab"
    );
    if let Some(builder) = now.stages.get_mut("builder") {
        builder.base.name = "golang:1.23".into();
    }
    assert_eq!(
        first_reason(&now, "builder", &step),
        "base image golang:1.22 → golang:1.23"
    );
}

#[test]
fn an_upstream_stage_that_re_ran_is_named() {
    let mut step = from_builder();
    step.key = "sha256:from-2".into();
    step.upstream[0].image = "sha256:builder-2".into();
    let mut now = current("runtime", vec![]);
    if let Some(builder) = now.stages.get_mut("builder") {
        builder.steps[1].cached = false;
    }
    assert_eq!(
        first_reason(&now, "runtime", &step),
        "stage builder re-ran, so this COPY --from=builder did"
    );
}

#[test]
fn no_cache_comes_first() {
    let mut step = run_step();
    step.args.insert("VERSION".into(), "1.3".into());
    let mut now = current("builder", vec![]);
    now.no_cache = true;
    if let Some(builder) = now.stages.get_mut("builder") {
        builder.no_cache = true;
    }
    assert_eq!(first_reason(&now, "builder", &step), "--no-cache");
    now.no_cache = false;
    assert_eq!(
        first_reason(&now, "builder", &step),
        "--no-cache-filter names its stage"
    );
}

#[test]
fn a_changed_step_text_quotes_the_old_one() {
    let mut step = run_step();
    step.text = "RUN make all".into();
    step.key = "sha256:run-2".into();
    assert_eq!(
        first_reason(&current("builder", vec![]), "builder", &step),
        "step text changed (was `RUN make`)"
    );
    step.index = 7;
    assert_eq!(
        first_reason(&current("builder", vec![]), "builder", &step),
        "a new step"
    );
}

#[test]
fn a_step_after_one_that_ran_says_so() {
    let mut copy = copy_step();
    copy.key = "sha256:copy-2".into();
    copy.cached = false;
    let mut step = run_step();
    step.key = "sha256:run-2".into();
    step.parent = "sha256:after-copy-2".into();
    let now = current("builder", vec![copy]);
    assert_eq!(
        first_reason(&now, "builder", &step),
        "the step before (`COPY src/ ./`) re-ran"
    );
}

#[test]
fn without_a_record_it_is_the_first_build_and_same_inputs_mean_a_lost_entry() {
    let now = current("builder", vec![]);
    let reasons = explain(None, &now, "builder", &run_step());
    assert_eq!(
        reasons[0].to_string(),
        "first build (no record of an earlier one)"
    );
    assert_eq!(
        first_reason(&now, "builder", &run_step()),
        "same inputs as the last build, but its cache entry is gone (pruned or removed)"
    );
    let mut new_stage = now.clone();
    new_stage
        .stages
        .insert("test".into(), stage("alpine:3", "sha256:a", vec![]));
    assert_eq!(
        first_reason(&new_stage, "test", &run_step()),
        "the last build did not build stage test"
    );
}

#[test]
fn the_recorder_keeps_reasons_and_carries_stages_it_did_not_build() {
    let recorder = Recorder::new(Some(previous()), "native", vec!["app".into()], false, None);
    recorder.stage_started(
        "builder",
        BaseRecord {
            name: "golang:1.22".into(),
            stage: false,
            image: "sha256:go-1".into(),
        },
        false,
    );
    let mut copy = copy_step();
    copy.cached = true;
    assert!(recorder.step("builder", copy).is_empty());
    let mut run = run_step();
    run.key = "sha256:run-2".into();
    run.args.insert("VERSION".into(), "1.3".into());
    let reasons = recorder.step("builder", run);
    assert_eq!(reasons[0].to_string(), "ARG VERSION 1.2 → 1.3");
    recorder.step_failed("builder", 1);
    let record = recorder.finish(42);
    assert_eq!(record.finished, 42);
    let builder = &record.stages["builder"];
    assert!(builder.built);
    assert_eq!(builder.steps[1].reasons, ["ARG VERSION 1.2 → 1.3"]);
    assert!(builder.steps[1].failed);
    assert!(
        !record.stages["runtime"].built,
        "carried from the earlier record"
    );
}

#[test]
fn a_build_on_another_back_end_says_so() {
    let mut now = current("builder", vec![]);
    now.backend = "buildkit".into();
    assert_eq!(
        first_reason(&now, "builder", &run_step()),
        "the last build ran on the native back end, whose cache is its own"
    );
}
