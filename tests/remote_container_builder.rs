//! `docker-container://NAME`: a real buildkitd inside a container on the
//! real Engine, reached through the Engine's exec API (`buildctl
//! dial-stdio`): the session's file sync, the push to a real registry and
//! the image that comes back to the Engine all travel over that stream.

mod buildkitd_support;
mod engine_support;
mod registry_support;

use buildkitd_support::container::ContainerBuilder;
use buildkitd_support::remote_command;
use engine_support::{Project, engine, stages, unique};
use registry_support::Registry;

#[test]
fn a_builder_in_a_container_builds_through_the_engines_exec() {
    engine();
    let registry = Registry::start();
    let name = unique("stages-container-builder");
    let Some(builder) = ContainerBuilder::start(&name, &registry.host) else {
        return;
    };
    let address = format!("docker-container://{}", builder.name);
    // The container's Engine is the one --host names, over DOCKER_HOST.
    let engine_host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
    let nowhere = "unix:///nonexistent/stages-test/docker.sock";
    let ls = |host: &str| {
        engine_support::Run::from(
            stages()
                .env_remove("BUILDKIT_HOST")
                .env("DOCKER_HOST", nowhere)
                .args(["builders", "ls", "--builder", &address, "--host", host])
                .output()
                .expect("run stages"),
        )
    };
    let reached = ls(&engine_host).success();
    assert!(
        reached
            .stdout
            .contains(&format!("{address}\n  reachable: yes")),
        "{}",
        reached.describe()
    );
    let elsewhere = ls(nowhere).exit(1);
    assert!(
        elsewhere.stdout.contains("reachable: no") && elsewhere.stdout.contains(nowhere),
        "{}",
        elsewhere.describe()
    );
    let repository = unique("stages-in-container");
    let tag = registry.image(&format!("{repository}:1"));
    let project = Project::new(&format!(
        "[stages.app]\nfrom = \"scratch\"\nsteps = [{{ copy = \"marker.txt\", to = \"/marker.txt\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n"
    ))
    .file("marker.txt", &format!("{name}\n"));
    let run = engine_support::Run::from(
        remote_command(
            &project,
            std::slice::from_ref(&address),
            &["--push", "--host", &engine_host],
        )
        .env("DOCKER_HOST", nowhere)
        .output()
        .expect("run stages"),
    )
    .success();
    assert!(
        run.stderr
            .contains(&format!("on builder {address} (run 1)")),
        "{}",
        run.describe()
    );
    assert_eq!(registry.tags(&repository), ["1"], "{}", run.describe());
    let layers = registry
        .manifest(&repository, "1")
        .and_then(|m| m["layers"].as_array().map(Vec::len));
    assert_eq!(layers, Some(1), "{}", run.describe());
}
