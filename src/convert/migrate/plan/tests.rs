use super::*;

fn plan_of(script: &str, dirs: &[&str]) -> Plan {
    let is_dir = |path: &str| dirs.contains(&path);
    plan(&ScriptInput {
        text: script,
        ranges: vec![Span::new(0, script.len())],
        dialect: Dialect::default(),
        make_variables: Vec::new(),
        script_dir: "scripts".into(),
        is_dir: &is_dir,
    })
}

fn codes_of(plan: &Plan) -> Vec<&'static str> {
    plan.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn cp_into_a_directory_or_to_a_new_name() {
    let plan = plan_of(
        "docker build -t b -f Dockerfile.build .\ndocker create --name c b\nmkdir -p out\ndocker cp c:/x/app out\ndocker cp c:/x/tool bin\ndocker cp c:/x/lib dist\ndocker cp c:/x/. all/\ndocker cp c:relative .\n",
        &["dist"],
    );
    let got: Vec<(&str, &str)> = plan
        .extractions
        .iter()
        .map(|e| (e.path.as_str(), e.dest.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("/x/app", "out/app"),
            ("/x/tool", "bin"),
            ("/x/lib", "dist/lib"),
            ("/x", "all"),
            ("/relative", "relative"),
        ]
    );
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
}

#[test]
fn container_ids_in_variables_and_directory_changes() {
    let plan = plan_of(
        "cd \"$(dirname \"$0\")\"\nTAG=v1\ndocker build -t app:$TAG ..\nID=$(docker create app:v1)\ndocker cp \"$ID\":/app ./app\ndocker rm -v $ID\nrm -f app\n",
        &[],
    );
    assert_eq!(plan.builds[0].context, ".");
    assert_eq!(plan.builds[0].dockerfile, "Dockerfile");
    assert_eq!(plan.builds[0].tags[0].value, "app:v1");
    assert_eq!(plan.extractions[0].dest, "scripts/app");
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
}

#[test]
fn what_is_not_migrated_is_reported() {
    let plan = plan_of(
        "docker build -t b .\nfor a in x y; do\n  docker build -t b:$a .\ndone\nmake all\nrm -rf /tmp/cache\ndocker run -d -p 80:80 b\ndocker cp c:/x y\n",
        &[],
    );
    assert_eq!(
        codes_of(&plan),
        [
            codes::LOOP,
            codes::NOT_MIGRATED,
            codes::NETWORK_SERVICE,
            codes::UNKNOWN_IMAGE,
            codes::NOT_MIGRATED,
        ]
    );
    assert_eq!(plan.builds.len(), 1);
}

#[test]
fn tags_and_build_args() {
    let plan = plan_of(
        "docker build --build-arg A=1 --build-arg B --build-arg C=$C --build-arg D=$(date) -t x .\ndocker tag x x:2\n",
        &[],
    );
    let build = &plan.builds[0];
    let values: Vec<&ArgValue> = build.args.iter().map(|a| &a.value).collect();
    assert_eq!(
        values,
        [
            &ArgValue::Literal("1".into()),
            &ArgValue::Environment,
            &ArgValue::Environment,
            &ArgValue::Dynamic,
        ]
    );
    let tags: Vec<&str> = build.tags.iter().map(|t| t.value.as_str()).collect();
    assert_eq!(tags, ["x", "x:2"]);
    assert_eq!(codes_of(&plan), [codes::DYNAMIC_VALUE]);
}

#[test]
fn cp_to_a_tar_stream() {
    let plan = plan_of(
        "docker build -t b .\ndocker create --name c b\ndocker cp c:/out/app - | tar -x -C dist\ndocker cp c:/site/. - | tar -xC www\n",
        &[],
    );
    let got: Vec<(&str, &str)> = plan
        .extractions
        .iter()
        .map(|e| (e.path.as_str(), e.dest.as_str()))
        .collect();
    assert_eq!(got, [("/out/app", "dist/app"), ("/site", "www")]);
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
}

#[test]
fn make_from_a_script_names_the_makefile_target() {
    let plan = plan_of("make -j4 image VERSION=1\n", &[]);
    assert_eq!(codes_of(&plan), [codes::NOT_MIGRATED]);
    let message = &plan.diagnostics[0].message;
    assert!(
        message.contains("runs `image` of the Makefile"),
        "{message}"
    );
}

#[test]
fn containers_that_ran_are_followed_to_the_copy() {
    let plan = plan_of(
        "docker build -t b -f Dockerfile.build .\ndocker run --name=r -e A=1 b make dist\ndocker cp r:/dist/app app\nID=$(docker run -d b)\ndocker wait $ID\ndocker cp $ID:/x x\ndocker create --name c b\ndocker start -a c\ndocker cp c:/y y\ndocker create --name idle b\ndocker cp idle:/z z\n",
        &[],
    );
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let runs: Vec<Option<usize>> = plan.extractions.iter().map(|e| e.run).collect();
    assert_eq!(runs, [Some(0), Some(1), Some(2), None]);
    assert_eq!(plan.container_runs[0].command, ["make", "dist"]);
    assert_eq!(
        plan.container_runs[0].env,
        [("A".to_owned(), "1".to_owned())]
    );
}
