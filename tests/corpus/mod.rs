//! Locating the shared corpus and collecting failures by case name.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Whether `CI` is set as CI services set it (`true`, `1`, `True`): not
/// empty, `0` or `false`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The corpus root, or `None` (and a panic under CI).
pub fn root() -> Option<PathBuf> {
    let path = std::env::var_os("STAGES_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        PathBuf::from,
    );
    if path.is_dir() {
        return Some(path);
    }
    if under_ci() {
        panic!("corpus missing at {} (set STAGES_CORPUS)", path.display());
    }
    eprintln!("corpus missing at {}: nothing to compare", path.display());
    None
}

/// One Dockerfile and where its expectations are.
pub struct Case {
    pub name: String,
    pub text: String,
    /// BuildKit's dump.
    pub result_path: PathBuf,
    /// `ast.json` or `expected/<file>.json`.
    pub json_path: PathBuf,
    pub dockerfile_path: PathBuf,
}

impl Case {
    pub fn result(&self) -> String {
        std::fs::read_to_string(&self.result_path).unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        std::fs::read_to_string(&self.json_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The cases of one corpus folder, sorted by name.
pub fn cases(folder: &str) -> Vec<Case> {
    let Some(root) = root() else {
        return Vec::new();
    };
    let dir = root.join(folder);
    let mut cases = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return cases;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if folder == "real" {
            if !path.is_file() || name == "MANIFEST.tsv" {
                continue;
            }
            cases.push(Case {
                text: read_lossy(&path),
                result_path: dir.join("expected").join(format!("{name}.result")),
                json_path: dir.join("expected").join(format!("{name}.json")),
                dockerfile_path: path,
                name,
            });
        } else if path.join("Dockerfile").is_file() {
            cases.push(Case {
                text: read_lossy(&path.join("Dockerfile")),
                result_path: path.join("result"),
                json_path: path.join("ast.json"),
                dockerfile_path: path.join("Dockerfile"),
                name,
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Collects per-case outcomes and asserts once, naming every failure.
pub struct Report {
    what: String,
    passed: usize,
    failures: Vec<String>,
}

impl Report {
    pub fn new(what: &str) -> Self {
        Self {
            what: what.to_string(),
            passed: 0,
            failures: Vec::new(),
        }
    }

    pub fn pass(&mut self) {
        self.passed += 1;
    }

    pub fn fail(&mut self, case: &str, why: String) {
        self.failures.push(format!("{case}: {why}"));
    }

    pub fn check(&mut self, case: &str, actual: &str, expected: &str) {
        if actual == expected {
            self.pass();
        } else {
            let diff = similar::TextDiff::from_lines(expected, actual)
                .unified_diff()
                .context_radius(1)
                .to_string();
            self.fail(case, format!("differs (-expected +actual):\n{diff}"));
        }
    }

    /// Asserts no failure and that `expected` cases were seen (when the corpus is there).
    pub fn assert_count(self, expected: usize) {
        let total = self.passed + self.failures.len();
        eprintln!("{}: {}/{} passed", self.what, self.passed, total);
        if root().is_none() {
            return;
        }
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} cases failed:\n{}",
            self.what,
            self.failures.len(),
            total,
            self.failures.join("\n")
        );
        assert_eq!(total, expected, "{}: expected {expected} cases", self.what);
    }
}

fn node_json(node: &stages::dockerfile::Node, nested: bool) -> serde_json::Value {
    use serde_json::json;
    let mut v = serde_json::Map::new();
    v.insert("instruction".into(), json!(node.keyword.to_uppercase()));
    v.insert("keyword_as_written".into(), json!(node.keyword));
    if !node.flags.is_empty() {
        v.insert("flags".into(), json!(node.flags.as_slice()));
    }
    v.insert("args".into(), json!(node.args.as_slice()));
    if node.json {
        v.insert("json_form".into(), json!(true));
    }
    if !node.heredocs.is_empty() {
        let docs: Vec<_> = node
            .heredocs
            .iter()
            .map(|h| json!({"name": h.name, "fd": h.fd, "expand": h.expand, "chomp": h.chomp, "content": h.content}))
            .collect();
        v.insert("heredocs".into(), json!(docs));
    }
    if let Some(sub) = &node.sub {
        v.insert("sub".into(), node_json(sub, true));
    }
    if !node.comments.is_empty() {
        v.insert("prev_comment".into(), json!(node.comments.as_slice()));
    }
    let (start, end) = if nested {
        (0, 0)
    } else {
        (node.start_line, node.end_line)
    };
    v.insert("start_line".into(), json!(start));
    v.insert("end_line".into(), json!(end));
    v.insert("original".into(), json!(node.original));
    serde_json::Value::Object(v)
}

/// Compares the syntax tree with BuildKit's `ast` / `directives` / `escape_token`.
pub fn ast_mismatch(
    file: &stages::dockerfile::Dockerfile,
    json: &serde_json::Value,
) -> Option<String> {
    let expected = json.get("ast").and_then(|a| a.as_array())?;
    if expected.len() != file.nodes.len() {
        return Some(format!(
            "{} nodes, expected {}",
            file.nodes.len(),
            expected.len()
        ));
    }
    for (node, want) in file.nodes.iter().zip(expected) {
        let mut want = want.clone();
        if let Some(obj) = want.as_object_mut() {
            // BuildKit keeps an empty argument list for nodes without arguments.
            if obj.get("args").is_some_and(|a| a.is_null()) {
                obj.insert("args".into(), serde_json::json!([]));
            }
            if let Some(sub) = obj.get_mut("sub").and_then(|s| s.as_object_mut())
                && sub.get("args").is_some_and(|a| a.is_null())
            {
                sub.insert("args".into(), serde_json::json!([]));
            }
        }
        let got = node_json(node, false);
        if got != want {
            return Some(format!(
                "line {}:\n  got      {got}\n  expected {want}",
                node.start_line
            ));
        }
    }
    let want_warnings = json
        .get("warnings")
        .cloned()
        .unwrap_or(serde_json::json!([]));
    if serde_json::json!(file.warnings) != want_warnings {
        return Some(format!(
            "warnings {:?}, expected {want_warnings}",
            file.warnings
        ));
    }
    let escape = json
        .get("escape_token")
        .and_then(|e| e.as_str())
        .unwrap_or("\\");
    if escape != file.escape.to_string() {
        return Some(format!("escape {:?}, expected {escape:?}", file.escape));
    }
    let directives: serde_json::Map<String, serde_json::Value> = file
        .directives
        .iter()
        .map(|d| (d.name.clone(), serde_json::json!(d.value)))
        .collect();
    let want = json
        .get("directives")
        .cloned()
        .unwrap_or(serde_json::json!({}));
    if serde_json::Value::Object(directives.clone()) != want {
        return Some(format!("directives {directives:?}, expected {want}"));
    }
    None
}

/// Compares our stages with BuildKit's `stages` / `meta_args` / `stages_error`.
pub fn stages_mismatch(text: &str, json: &serde_json::Value) -> Option<String> {
    use serde_json::json;
    use stages::dockerfile::instructions::Command;
    let file = match stages::dockerfile::parse(text) {
        Ok(f) => f,
        Err(d) => return Some(format!("parser rejected: {}", d.message)),
    };
    let program = stages::dockerfile::parse_program(&file, text);
    let expected_error = json.get("stages_error").and_then(|e| e.as_str());
    let program = match (program, expected_error) {
        (Err(d), Some(e)) => {
            let Some(span) = d.primary_span() else {
                return Some(format!("no span: {}", d.message));
            };
            // BuildKit names the instruction's first line: "… on line N: …".
            let want_line = e
                .split("on line ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse::<usize>().ok());
            let line = text.get(..span.start).unwrap_or(text).matches('\n').count() + 1;
            return match want_line {
                Some(want) if want != line => {
                    Some(format!("error on line {line}, BuildKit says: {e}"))
                }
                _ => None,
            };
        }
        (Err(d), None) => return Some(format!("rejected: {}", d.message)),
        (Ok(_), Some(e)) => return Some(format!("accepted, BuildKit says: {e}")),
        (Ok(p), None) => p,
    };
    let meta: Vec<String> = program
        .meta_args
        .iter()
        .flat_map(|i| match &i.command {
            Command::Arg(decls) => decls.iter().map(|d| d.to_text()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let want_meta = json.get("meta_args").cloned().unwrap_or(json!([]));
    if json!(meta) != want_meta {
        return Some(format!("meta_args {meta:?}, expected {want_meta}"));
    }
    let mut stages = Vec::new();
    for (index, stage) in program.stages.iter().enumerate() {
        let mut v = serde_json::Map::new();
        v.insert("index".into(), json!(index));
        v.insert("name".into(), json!(stage.name().unwrap_or_default()));
        v.insert("base_name".into(), json!(stage.base()));
        if let Some(p) = stage.platform() {
            v.insert("platform".into(), json!(p));
        }
        let commands: Vec<&str> = stage
            .instructions
            .iter()
            .map(|i| i.keyword.as_ref())
            .collect();
        v.insert("commands".into(), json!(commands));
        let copy_from = stage.copy_from();
        if !copy_from.is_empty() {
            v.insert("copy_from".into(), json!(copy_from));
        }
        let mut run_flags: Vec<String> = Vec::new();
        for i in &stage.instructions {
            // BuildKit lists each RUN's distinct flags, RUN after RUN.
            if let Command::Run(_) = i.command {
                let mut used: Vec<String> = Vec::new();
                for f in &i.flags {
                    if !used.iter().any(|u| *u == f.name) {
                        used.push(f.name.to_string());
                    }
                }
                run_flags.extend(used);
            }
        }
        if !run_flags.is_empty() {
            v.insert("run_flags".into(), json!(run_flags));
        }
        stages.push(serde_json::Value::Object(v));
    }
    let want = json.get("stages").cloned().unwrap_or(json!([]));
    let mut want_sorted = want.clone();
    if let Some(arr) = want_sorted.as_array_mut() {
        for s in arr {
            if let Some(rf) = s.get_mut("run_flags").and_then(|r| r.as_array_mut()) {
                rf.sort_by_key(|v| v.to_string());
            }
        }
    }
    let mut got = json!(stages);
    if let Some(arr) = got.as_array_mut() {
        for s in arr {
            if let Some(rf) = s.get_mut("run_flags").and_then(|r| r.as_array_mut()) {
                rf.sort_by_key(|v| v.to_string());
            }
        }
    }
    if got != want_sorted {
        return Some(format!(
            "stages\n  got      {got}\n  expected {want_sorted}"
        ));
    }
    None
}

/// What changes when the program `text` reads as is printed and read
/// again, if anything. The program is read here, not passed in, so that it
/// borrows for no longer than the printed text it is compared with.
pub fn round_trip_mismatch(text: &str) -> Option<String> {
    use stages::dockerfile;
    // Declared first so as to be dropped last: the program read from
    // `text` is compared with one read from it.
    #[allow(
        clippy::needless_late_init,
        reason = "the late start sets the drop order the borrows need"
    )]
    let printed: String;
    let original = dockerfile::parse(text).ok()?;
    let program = &dockerfile::parse_program(&original, text).ok()?;
    printed = dockerfile::print(program);
    let reparsed = match dockerfile::parse(&printed) {
        Ok(f) => f,
        Err(d) => return Some(format!("printed text rejected: {}\n{printed}", d.message)),
    };
    let (a, b) = (dockerfile::dump(&original), dockerfile::dump(&reparsed));
    if a != b {
        let diff = similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(0)
            .to_string();
        return Some(format!("dump differs:\n{diff}\nprinted:\n{printed}"));
    }
    for (x, y) in original.nodes.iter().zip(&reparsed.nodes) {
        if x.heredocs != y.heredocs || x.flags != y.flags || x.comments != y.comments {
            return Some(format!(
                "line {}: heredocs, flags or comments differ\n  {:?}\n  {:?}",
                x.start_line,
                (&x.heredocs, &x.flags, &x.comments),
                (&y.heredocs, &y.flags, &y.comments)
            ));
        }
    }
    let again = match dockerfile::parse_program(&reparsed, &printed) {
        Ok(p) => p,
        Err(d) => return Some(format!("printed program rejected: {}", d.message)),
    };
    if again.meta_args != program.meta_args || again.stages != program.stages {
        return Some("typed program differs after printing".to_string());
    }
    let directives = |p: &dockerfile::Program| {
        p.directives
            .iter()
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect::<Vec<_>>()
    };
    if directives(&again) != directives(program) || again.escape != program.escape {
        return Some("directives differ after printing".to_string());
    }
    if again.trailing_comments != program.trailing_comments {
        return Some("trailing comments differ after printing".to_string());
    }
    let printed_again = dockerfile::print(&again);
    if printed_again != printed {
        return Some("printing is not idempotent".to_string());
    }
    None
}
