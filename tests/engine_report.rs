//! The build report on the real Engine: a fan-out project (one quick and
//! one slow branch off a shared base, joined by the image) built with the
//! native and the BuildKit back ends; its critical path is the longest
//! chain of stages, the JSON report has its documented fields, JSON
//! progress events carry timestamps, and the HTML page, opened in headless
//! Chromium, draws a bar per stage and step with the critical path marked.
//! FAILS when the Engine (or, for the page, `chromium`) is missing.

mod engine_support;

use std::path::Path;
use std::process::Command;

use engine_support::{Project, Run, engine, remove_images, stages, unique};
use serde_json::Value;

/// `base` → `slow` (3 s) and `quick` (0.2 s) → `app` copies from both.
fn fan_out(tag: &str) -> String {
    format!(
        r#"
[stages.base]
from = "busybox:stages-test"
steps = [{{ run = "echo base > /base" }}]

[stages.slow]
from = {{ stage = "base" }}
steps = [{{ run = "sleep 3 && echo slow > /slow" }}]

[stages.quick]
from = {{ stage = "base" }}
steps = [{{ run = "sleep 0.2 && echo quick > /quick" }}]

[stages.app]
from = "busybox:stages-test"
steps = [
  {{ copy = "/slow", from = "slow", to = "/slow" }},
  {{ copy = "/quick", from = "quick", to = "/quick" }},
]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    )
}

fn build(project: &Project, backend: &str, extra: &[&str]) -> Run {
    let mut command = stages();
    command
        .current_dir(project.path())
        .args(["build", "--backend", backend, "--jobs", "4"]);
    if !extra.contains(&"--progress") {
        command.args(["--progress", "plain"]);
    }
    Run::from(command.args(extra).output().expect("run stages"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the report file");
    serde_json::from_str(&text).expect("the report is JSON")
}

fn stage<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no stage {name} in {report:#}"))
}

/// What every back end's report of the fan-out says alike.
fn check_fan_out_report(report: &Value, backend: &str) {
    assert_eq!(report["report"], "stages build report");
    assert_eq!(report["version"], 1);
    assert_eq!(report["backend"], backend);
    assert_eq!(report["finished"], true);
    assert_eq!(
        report["critical_path"],
        serde_json::json!(["base", "slow", "app"]),
        "{report:#}"
    );
    for name in ["base", "slow", "quick", "app"] {
        let stage = stage(report, name);
        let (start, end) = (stage["start"].as_f64(), stage["end"].as_f64());
        assert!(start.is_some() && end >= start, "{stage:#}");
        assert_eq!(stage["cached"], false, "--no-cache: {stage:#}");
        assert_eq!(
            stage["critical"],
            name != "quick",
            "only quick is off the path"
        );
        assert!(!stage["steps"].as_array().unwrap().is_empty(), "{stage:#}");
    }
    // `sleep 3` runs inside the slow stage, after its base ended.
    let slow = stage(report, "slow");
    assert!(slow["seconds"].as_f64().unwrap() >= 3.0, "{slow:#}");
    assert!(slow["start"].as_f64() >= stage(report, "base")["end"].as_f64());
    assert!(stage(report, "app")["start"].as_f64() >= slow["end"].as_f64());
    let busy: f64 = ["base", "slow", "quick", "app"]
        .iter()
        .map(|n| stage(report, n)["seconds"].as_f64().unwrap())
        .sum();
    let span = report["stages_seconds"].as_f64().unwrap();
    let parallelism = report["parallelism"].as_f64().unwrap();
    assert!(
        (parallelism - busy / span).abs() < 0.02,
        "{parallelism} vs {busy}/{span}"
    );
    assert!(report["wall_seconds"].as_f64() >= Some(span));
    let cache = &report["cache"];
    assert_eq!(cache["cached"], 0, "{cache}");
    assert!(cache["steps"].as_u64() >= Some(5), "{cache}");
    assert!(report["bytes_sent"].as_u64().is_some());
    let target = &report["targets"][0];
    assert_eq!(target["name"], "app");
    assert_eq!(target["state"], "built");
    assert_eq!(target["stage"], "app");
    assert!(target["size"].as_u64() > Some(0), "{target:#}");
    let from: Vec<&str> = target["copies_from"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["stage"].as_str())
        .collect();
    assert_eq!(from, ["slow", "quick"]);
}

#[test]
fn native_report_follows_the_longest_chain_and_says_what_it_measured() {
    engine();
    let tag = format!("{}:native", unique("stages-report"));
    let project = Project::new(&fan_out(&tag));
    let run = build(&project, "native", &["--no-cache", "--report", "r.json"]).success();
    let report = read_json(&project.path().join("r.json"));
    check_fan_out_report(&report, "native");
    assert_eq!(report["timing"], "observed");
    // Quick ran while slow did.
    assert!(report["parallelism"].as_f64() > Some(1.0), "{report:#}");
    // Native stages leave images: the builder stages' sizes sit next to the image's.
    for from in report["targets"][0]["copies_from"].as_array().unwrap() {
        assert!(from["size"].as_u64() > Some(0), "{from}");
    }
    let text = run.flat_stderr();
    assert!(
        text.contains("critical path (*): base → slow → app"),
        "{}",
        run.stderr
    );
    assert!(text.contains("* slow"), "{}", run.stderr);
    assert!(text.contains("image app "), "{}", run.stderr);
    // The line saying where the report went comes last, under the summary.
    let wrote = text.find("report: wrote r.json");
    assert!(wrote.is_some(), "{}", run.stderr);
    assert!(wrote > text.find("critical path (*)"), "{}", run.stderr);

    // Warm: every step from the cache, events timed, the report replaced.
    let warm = build(
        &project,
        "native",
        &["--progress", "json", "--report", "r.json"],
    )
    .success();
    let events: Vec<Value> = warm
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON event"))
        .collect();
    let mut previous = 0.0;
    for event in &events {
        let time = event["time"].as_str().unwrap_or_else(|| panic!("{event}"));
        assert!(time.ends_with('Z') && time.len() == 24, "{time}");
        let elapsed = event["elapsed"].as_f64().unwrap();
        assert!(elapsed >= previous, "events in order: {event}");
        previous = elapsed;
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["report"]["cache"]["ratio"], 1.0, "{summary:#}");
    let report = read_json(&project.path().join("r.json"));
    assert_eq!(report["cache"]["ratio"], 1.0);
    remove_images(&[&tag]);
}

#[test]
fn buildkit_report_takes_the_vertex_times() {
    engine();
    let tag = format!("{}:buildkit", unique("stages-report"));
    let project = Project::new(&fan_out(&tag));
    build(&project, "buildkit", &["--no-cache", "--report", "r.json"]).success();
    let report = read_json(&project.path().join("r.json"));
    check_fan_out_report(&report, "buildkit");
    assert_eq!(report["timing"], "builder");
    // BuildKit keeps its stages in its own cache, not as images.
    for from in report["targets"][0]["copies_from"].as_array().unwrap() {
        assert_eq!(from["size"], Value::Null, "{from}");
    }
    remove_images(&[&tag]);
}

#[test]
fn a_file_that_is_not_a_report_is_kept_unless_forced() {
    let project = Project::new(&fan_out("unused:tag"));
    let notes = project.path().join("notes.json");
    std::fs::write(&notes, "{\"mine\": 1}").unwrap();
    let run = build(&project, "native", &["--report", "notes.json"]).exit(2);
    assert!(
        run.flat_stderr().contains("not a build report of stages"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "{\"mine\": 1}");
    let run = build(&project, "native", &["--report", "notes.txt"]).exit(2);
    assert!(run.flat_stderr().contains(".json"), "{}", run.stderr);
}

/// Added to a copy of the page: what the browser drew, written into the
/// DOM so `--dump-dom` shows it.
const PROBE: &str = r#"<script>
addEventListener('load', () => {
  const rows = [...document.querySelectorAll('#timeline .stage-row')].map(row => {
    const bar = row.querySelector('rect.stage');
    const box = bar.getBBox();
    return {
      stage: row.dataset.stage,
      critical: row.dataset.critical === 'true',
      width: box.width,
      x: box.x,
      fill: getComputedStyle(bar).fill,
      steps: row.querySelectorAll('rect.step').length,
    };
  });
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({
    rows,
    path: document.getElementById('critical-path').textContent,
    external: [...document.querySelectorAll('[src],[href],link')].length,
  });
  document.body.appendChild(out);
});
</script>"#;

fn chromium(args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=2000",
        ])
        .args(args)
        .output()
        .expect("run chromium (apt-get install chromium)")
}

#[test]
fn the_html_report_draws_a_bar_per_stage_in_a_real_browser() {
    engine();
    let tag = format!("{}:html", unique("stages-report"));
    let project = Project::new(&fan_out(&tag));
    build(&project, "native", &["--no-cache", "--report", "r.html"]).success();
    let page = std::fs::read_to_string(project.path().join("r.html")).unwrap();
    assert!(
        !page.contains(" src=") && !page.contains("<link"),
        "self-contained"
    );

    let probed = project.path().join("probed.html");
    std::fs::write(&probed, page.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let out = chromium(&["--dump-dom", probed.to_str().unwrap()]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let probe = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "no probe in the page:\n{dom}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let probe: Value = serde_json::from_str(
        &probe
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\""),
    )
    .expect("probe JSON");
    let rows = probe["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().filter_map(|r| r["stage"].as_str()).collect();
    assert_eq!(names.len(), 4, "{probe:#}");
    for name in ["base", "slow", "quick", "app"] {
        assert!(names.contains(&name), "{probe:#}");
    }
    let row = |name: &str| rows.iter().find(|r| r["stage"] == name).unwrap();
    for row in rows {
        assert!(row["width"].as_f64() >= Some(1.0), "a drawn bar: {row}");
        assert!(row["steps"].as_u64() >= Some(1), "step bars: {row}");
        assert_eq!(row["critical"], row["stage"] != "quick", "{row}");
    }
    // The critical path's colour is its own; bars are as long as stages took.
    let critical_fill = row("slow")["fill"].clone();
    assert_eq!(row("base")["fill"], critical_fill);
    assert_ne!(row("quick")["fill"], critical_fill, "{probe:#}");
    assert!(row("slow")["width"].as_f64() > row("quick")["width"].as_f64());
    assert!(row("app")["x"].as_f64() > row("quick")["x"].as_f64());
    assert_eq!(probe["external"], 0, "no external resource");
    assert!(
        probe["path"]
            .as_str()
            .unwrap()
            .contains("base → slow → app"),
        "{probe:#}"
    );

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,800",
        project.path().join("r.html").to_str().unwrap(),
    ]);
    assert!(shot.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("screenshot: {}", shot.display());
    remove_images(&[&tag]);
}
