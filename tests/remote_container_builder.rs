//! `docker-container://NAME`: a real buildkitd inside a container on the
//! real Engine, reached through the Engine's exec API (`buildctl
//! dial-stdio`): the session's file sync, the push to a real registry and
//! the image that comes back to the Engine all travel over that stream.

mod buildkitd_support;
mod engine_support;
mod registry_support;

use buildkitd_support::build_on;
use buildkitd_support::container::ContainerBuilder;
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
    let ls = engine_support::Run::from(
        stages()
            .env_remove("BUILDKIT_HOST")
            .args(["builders", "ls", "--builder", &address])
            .output()
            .expect("run stages"),
    )
    .success();
    assert!(
        ls.stdout.contains(&format!("{address}\n  reachable: yes")),
        "{}",
        ls.describe()
    );
    let repository = unique("stages-in-container");
    let tag = registry.image(&format!("{repository}:1"));
    let project = Project::new(&format!(
        "[stages.app]\nfrom = \"scratch\"\nsteps = [{{ copy = \"marker.txt\", to = \"/marker.txt\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n"
    ))
    .file("marker.txt", &format!("{name}\n"));
    let run = build_on(&project, std::slice::from_ref(&address), &["--push"]).success();
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
