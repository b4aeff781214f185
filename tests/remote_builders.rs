//! Remote BuildKit builders, end to end: two real `buildkitd` daemons and a
//! real registry (`buildkitd_support`), the real Engine for images that come
//! back to it. Under CI the daemons must exist (the test fails otherwise);
//! elsewhere a machine without root or Go says it skipped.

mod buildkitd_support;
mod engine_support;
mod registry_support;

use std::process::{Command, Stdio};

use buildkitd_support::{Farm, build_losing_the_first_builder, build_on, remote_command};
use engine_support::{Project, Run, engine, remove_images, stages, unique};
use registry_support::docker;

/// `count` independent targets, each a stage that runs `seconds` and
/// writes its name; tags `REGISTRY/NAME-i:1`.
fn independent_targets(
    base: &str,
    prefix: &str,
    count: usize,
    seconds: u32,
) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut tags = Vec::new();
    for i in 0..count {
        let tag = format!("{prefix}-{i}:1");
        text.push_str(&format!(
            "[stages.s{i}]\nfrom = \"{base}\"\nsteps = [{{ run = \"sleep {seconds} && echo target-{i} > /which\" }}]\ncmd = [\"cat\", \"/which\"]\n\n[targets.t{i}]\nstage = \"s{i}\"\ntags = [\"{tag}\"]\n\n"
        ));
        tags.push(tag);
    }
    (text, tags)
}

/// Runs `image` on the Engine (pulled from its registry if needed) and
/// returns what it printed.
fn run_image(image: &str) -> String {
    let out = docker(&["run", "--rm", image], None);
    String::from_utf8_lossy(&out).trim().to_owned()
}

/// Removes the images a test put on the Engine, passed or not.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let tags: Vec<&str> = self.0.iter().map(String::as_str).collect();
        remove_images(&tags);
    }
}

#[test]
fn four_independent_targets_build_on_both_builders_and_are_pushed() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let prefix = farm.registry.image(&unique("stages-farm"));
    let (text, tags) = independent_targets(&farm.base, &prefix, 4, 2);
    let _cleanup = Cleanup(tags.clone());
    let project = Project::new(&text);
    let run = build_on(&project, &farm.addresses(), &["--all", "--push"]).success();
    for address in farm.addresses() {
        assert!(
            run.stderr.contains(&format!("on {address} (")),
            "builder {address} did no work:\n{}",
            run.describe()
        );
    }
    assert!(!run.stderr.contains("re-run"), "{}", run.describe());
    for (i, tag) in tags.iter().enumerate() {
        let (name, version) = tag
            .strip_prefix(&format!("{}/", farm.registry.host))
            .and_then(|rest| rest.rsplit_once(':'))
            .expect("a registry tag");
        assert_eq!(farm.registry.tags(name), [version], "{}", run.describe());
        assert_eq!(run_image(tag), format!("target-{i}"));
    }
}

#[test]
fn a_builder_killed_mid_build_has_its_target_rerun_on_the_other() {
    engine();
    let Some(mut farm) = Farm::start() else {
        return;
    };
    let prefix = unique("stages-rerun");
    let (text, tags) = independent_targets(&farm.base, &prefix, 2, 6);
    let _cleanup = Cleanup(tags.clone());
    let project = Project::new(&text);
    let victim = farm.daemons[0].address.clone();
    // Loaded into the Engine this time: the docker exporter's tarball path.
    let seen = build_losing_the_first_builder(&mut farm, &project, &["--all"]);
    assert!(
        seen.contains(&format!("re-run: builder {victim} was lost")),
        "the summary does not say a target was re-run:\n{seen}"
    );
    for (i, tag) in tags.iter().enumerate() {
        assert_eq!(run_image(tag), format!("target-{i}"), "{seen}");
    }
}

#[test]
fn cache_exported_by_one_builder_makes_every_step_cached_on_the_other() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let tag = farm
        .registry
        .image(&format!("{}:1", unique("stages-cache")));
    let cache = farm
        .registry
        .image(&format!("{}:cache", unique("stages-cache")));
    let text = format!(
        "[stages.app]\nfrom = \"{}\"\nsteps = [{{ run = \"echo expensive-$((1+1))-ran && date +%s%N > /stamp\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n",
        farm.base
    );
    let project = Project::new(&text);
    let addresses = farm.addresses();
    let cache_to = format!("type=registry,ref={cache},mode=max");
    let first = build_on(
        &project,
        &addresses[..1],
        &["--push", "--cache-to", &cache_to],
    )
    .success();
    assert!(
        first.stderr.contains("expensive-2-ran"),
        "{}",
        first.describe()
    );
    let cache_from = format!("type=registry,ref={cache}");
    let second = build_on(
        &project,
        &addresses[1..],
        &["--push", "--cache-from", &cache_from],
    )
    .success();
    assert!(
        !second.stderr.contains("expensive-2-ran"),
        "the step ran again on the second builder:\n{}",
        second.describe()
    );
    assert!(
        second.stderr.contains("(0 steps ran, 1 cached)"),
        "{}",
        second.describe()
    );
}

/// With one builder the target is one solve: BuildKit builds every
/// platform and pushes its own index (with several, see
/// remote_platform_parts.rs).
#[test]
fn a_multi_platform_copy_target_is_pushed_as_one_index() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let name = unique("stages-multi");
    let tag = farm.registry.image(&format!("{name}:1"));
    let text = format!(
        "[stages.app]\nfrom = \"{}\"\nsteps = [{{ copy = \"hello.txt\", to = \"/hello.txt\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n",
        farm.base
    );
    let project = Project::new(&text).file("hello.txt", "hello\n");
    let run = build_on(&project, &farm.addresses()[..1], &["--push"]).success();
    assert!(!run.stderr.contains("app (linux/"), "{}", run.describe());
    let index = farm
        .registry
        .manifest(&name, "1")
        .unwrap_or_else(|| panic!("no manifest for {tag}:\n{}", run.describe()));
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("not an index: {index}"))
        .iter()
        .filter_map(|m| {
            let p = &m["platform"];
            Some(format!(
                "{}/{}",
                p["os"].as_str()?,
                p["architecture"].as_str()?
            ))
        })
        .collect();
    assert!(platforms.contains(&"linux/amd64".to_owned()), "{index}");
    assert!(platforms.contains(&"linux/arm64".to_owned()), "{index}");
}

#[test]
fn run_steps_for_a_platform_no_builder_offers_are_refused_before_building() {
    engine();
    let Some(farm) = Farm::start() else { return };
    // Where arm64 emulation is registered the builders offer it; this
    // machine's answer decides what the test checks, never silently.
    let arm64_emulated = std::path::Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists();
    let tag = farm.registry.image(&format!("{}:1", unique("stages-arm")));
    let text = format!(
        "[stages.app]\nfrom = \"{}\"\nsteps = [{{ run = \"uname -m > /arch\" }}]\ncmd = [\"cat\", \"/arch\"]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\nplatforms = [\"linux/arm64\"]\n",
        farm.base
    );
    let project = Project::new(&text);
    let run = build_on(&project, &farm.addresses(), &["--push"]);
    if arm64_emulated {
        run.success();
        return;
    }
    let run = run.exit(2);
    let text = run.flat_stderr();
    assert!(
        text.contains("runs commands for platform linux/arm64, which no builder offers"),
        "{}",
        run.describe()
    );
    assert!(text.contains("nothing was built"), "{}", run.describe());
    assert!(
        !text.contains(" on tcp://"),
        "work was sent:\n{}",
        run.describe()
    );
}

#[test]
fn loading_a_multi_platform_image_into_the_engine_is_refused_before_building() {
    let project = Project::new(
        "[stages.app]\nfrom = \"busybox:stages-test\"\n\n[targets.app]\nstage = \"app\"\ntags = [\"stages-multi-load:1\"]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n",
    );
    // No daemon is needed: the refusal comes before any builder is asked.
    let run = build_on(&project, &["tcp://127.0.0.1:9".to_owned()], &[]).exit(1);
    let text = run.flat_stderr();
    assert!(
        text.contains("a multi-platform image cannot be loaded into the Engine"),
        "{}",
        run.describe()
    );
    assert!(text.contains("--push"), "{}", run.describe());
}

#[test]
fn an_unreachable_builder_is_one_clear_error_before_any_work() {
    let project = Project::new(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{ run = \"true\" }]\n",
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let address = format!("tcp://127.0.0.1:{closed}");
    let run = build_on(&project, std::slice::from_ref(&address), &[]).exit(2);
    let text = run.flat_stderr();
    assert!(
        text.contains(&format!("builder {address} is unreachable")),
        "{}",
        run.describe()
    );
    assert!(text.contains("nothing was built"), "{}", run.describe());
    let bad = build_on(&project, &["ssh://somewhere".to_owned()], &[]).exit(2);
    assert!(
        bad.flat_stderr()
            .contains("write tcp://HOST:PORT, unix:///PATH or docker-"),
        "{}",
        bad.describe()
    );
}

#[test]
fn a_tls_client_against_a_plain_builder_is_refused_before_any_work() {
    let Some(farm) = Farm::start() else { return };
    let certs = tempfile::tempdir().expect("temp dir");
    let ca = certs.path().join("ca.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(certs.path().join("ca.key"))
        .arg("-out")
        .arg(&ca)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success());
    let project = Project::new(&format!(
        "[stages.app]\nfrom = \"{}\"\nsteps = [{{ run = \"true\" }}]\n",
        farm.base
    ));
    let address = farm.daemons[0].address.clone();
    let mut command = remote_command(&project, std::slice::from_ref(&address), &[]);
    command.arg("--builder-tls-ca").arg(&ca);
    let run = Run::from(command.output().expect("run stages")).exit(2);
    let text = run.flat_stderr();
    assert!(
        text.contains(&format!("builder {address}")),
        "{}",
        run.describe()
    );
    assert!(text.contains("nothing was built"), "{}", run.describe());
}

#[test]
fn builders_ls_shows_each_builder_and_its_platforms() {
    let Some(farm) = Farm::start() else { return };
    let mut command = stages();
    command.env_remove("BUILDKIT_HOST").args(["builders", "ls"]);
    for address in farm.addresses() {
        command.args(["--builder", &address]);
    }
    command.args(["--builder", "tcp://127.0.0.1:9"]);
    let run = Run::from(command.output().expect("run stages")).exit(1);
    for address in farm.addresses() {
        let block = run
            .stdout
            .split(&format!("{address}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("{address} not listed:\n{}", run.describe()));
        assert!(block.starts_with("  reachable: yes"), "{}", run.describe());
        assert!(
            block.contains("platforms: linux/amd64"),
            "{}",
            run.describe()
        );
    }
    assert!(
        run.stdout.contains("tcp://127.0.0.1:9\n  reachable: no"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_failing_step_is_reported_on_its_step_and_nothing_is_tagged() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let tag = unique("stages-remote-fail");
    let _cleanup = Cleanup(vec![format!("{tag}:1")]);
    let text = format!(
        "[stages.app]\nfrom = \"{}\"\nsteps = [{{ run = \"echo about-to-fail && exit 3\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}:1\"]\n",
        farm.base
    );
    let project = Project::new(&text);
    let run = build_on(&project, &farm.addresses(), &[]).exit(1);
    let text = run.flat_stderr();
    assert!(text.contains("exited with code 3"), "{}", run.describe());
    assert!(text.contains("about-to-fail"), "{}", run.describe());
    assert!(
        !text.contains("re-run"),
        "a failed step is not a lost builder:\n{}",
        run.describe()
    );
    assert!(
        !engine_support::image_exists(&format!("{tag}:1")),
        "a failed build tagged its image"
    );
}

/// With no `--builder` nor `BUILDKIT_HOST`, `builders ls` asks the builder
/// stages.toml names, as `stages build` would use it; with none named it
/// says how to name one.
#[test]
fn builders_ls_asks_the_builder_stages_toml_names() {
    let Some(farm) = Farm::start() else { return };
    let address = farm.daemons[0].address.clone();
    let named = Project::new(&format!(
        "[project]\nbuilder = \"{address}\"\n\n[stages.app]\nfrom = \"{}\"\n",
        farm.base
    ));
    let ls = |project: &Project| {
        let output = stages()
            .env_remove("BUILDKIT_HOST")
            .current_dir(project.path())
            .args(["builders", "ls"])
            .output()
            .expect("run stages");
        Run::from(output)
    };
    let run = ls(&named).success();
    assert!(
        run.stdout
            .starts_with(&format!("{address}\n  reachable: yes")),
        "{}",
        run.describe()
    );
    let unnamed = Project::new(&format!("[stages.app]\nfrom = \"{}\"\n", farm.base));
    let run = ls(&unnamed).exit(2);
    assert!(
        run.flat_stderr().contains("names no builder"),
        "{}",
        run.describe()
    );
}
