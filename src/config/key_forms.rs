//! What each key of `stages.toml` takes, in words and with an example, so
//! that a value of the wrong type is answered with the right form rather
//! than with the deserializer's vocabulary ("expected a sequence").

/// What a key takes: a description and a line that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyForm {
    pub what: &'static str,
    pub example: String,
}

fn form(what: &'static str, example: &str) -> Option<KeyForm> {
    Some(KeyForm {
        what,
        example: example.to_owned(),
    })
}

/// The form of the key at `path` (as [`super::entries::Entry::path`] gives it).
pub fn key_form(path: &[String]) -> Option<KeyForm> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match path.as_slice() {
        [section @ ("project" | "args" | "stages" | "artifacts" | "targets")] => {
            section_form(section)
        }
        ["project", key] => project_key(key),
        ["stages" | "artifacts" | "targets", name] => Some(KeyForm {
            what: "a table",
            example: format!("[{}.{name}]", path[0]),
        }),
        ["stages", _, "steps", .., "mounts", key] => mount_key(key),
        ["stages", _, "steps", key] => step_key(key),
        ["stages", _, key] => stage_key(key),
        ["artifacts", _, key] => artifact_key(key),
        ["targets", _, key] => target_key(key),
        _ => None,
    }
}

fn section_form(section: &str) -> Option<KeyForm> {
    match section {
        "project" => form(
            "a table of project settings",
            r#"project = { name = "app" }"#,
        ),
        "args" => form(
            "a table of build arguments",
            r#"args = { VERSION = "1.0" }"#,
        ),
        "stages" => form("a table of stages", "[stages.app]"),
        "artifacts" => form("a table of artifacts", "[artifacts.app]"),
        "targets" => form("a table of targets", "[targets.app]"),
        _ => None,
    }
}

fn project_key(key: &str) -> Option<KeyForm> {
    match key {
        "name" => form("the project's name", r#"name = "app""#),
        "context" => form("a directory, relative to this file", r#"context = ".""#),
        "default-target" => form("a target or stage name", r#"default-target = "app""#),
        _ => None,
    }
}

fn stage_key(key: &str) -> Option<KeyForm> {
    match key {
        "platform" => form("a platform", r#"platform = "linux/amd64""#),
        "args" => form(
            "a table of build arguments and their defaults",
            r#"args = { VERSION = "1.0" }"#,
        ),
        "env" => form("a table of variables", r#"env = { LANG = "C.UTF-8" }"#),
        "workdir" => form("a directory", r#"workdir = "/src""#),
        "shell" => form(
            "a list: the shell and its options",
            r#"shell = ["/bin/bash", "-c"]"#,
        ),
        "steps" => form(
            "a list of steps, each a table with one kind key",
            r#"steps = [{ run = "make" }, { copy = "src/", to = "/src/" }]"#,
        ),
        "expose" => form("a list of ports", r#"expose = [8080, "53/udp"]"#),
        "labels" => form(
            "a table of labels",
            r#"labels = { "org.opencontainers.image.title" = "app" }"#,
        ),
        "volumes" => form("a list of directories", r#"volumes = ["/data"]"#),
        "stop-signal" => form("a signal name", r#"stop-signal = "SIGTERM""#),
        "onbuild" => form("a list of Dockerfile lines", r#"onbuild = ["RUN make"]"#),
        _ => None,
    }
}

fn step_key(key: &str) -> Option<KeyForm> {
    match key {
        "artifact" => form(
            "the name of an artifact",
            r#"{ artifact = "app", to = "/usr/local/bin/" }"#,
        ),
        "env" => form("a table of variables", r#"{ env = { LANG = "C.UTF-8" } }"#),
        "workdir" => form("a directory", r#"{ workdir = "/src" }"#),
        "arg" => form(
            "a table of build arguments",
            r#"{ arg = { VERSION = "1.0" } }"#,
        ),
        "shell" => form(
            "a list: the shell and its options",
            r#"{ shell = ["/bin/bash", "-c"] }"#,
        ),
        "to" => form("a destination path", r#"{ copy = "src/", to = "/src/" }"#),
        "from" => form(
            "the name of a stage",
            r#"{ copy = "/out/app", from = "builder", to = "/app" }"#,
        ),
        "from-image" => form(
            "an image reference",
            r#"{ copy = "/etc/nginx", from-image = "nginx:latest", to = "/etc/nginx" }"#,
        ),
        "chown" => form(
            "a user[:group]",
            r#"{ copy = "src/", to = "/src/", chown = "app:app" }"#,
        ),
        "chmod" => form("a mode", r#"{ copy = "run.sh", to = "/", chmod = "0755" }"#),
        "link" | "parents" | "keep-git-dir" | "unpack" => form("true or false", "link = true"),
        "exclude" => form("a list of patterns", r#"exclude = ["*.md"]"#),
        "heredocs" => form(
            "a table of texts by name",
            r#"{ copy = "<<EOF", to = "/f", heredocs = { EOF = "text\n" } }"#,
        ),
        "checksum" => form("a digest", r#"checksum = "sha256:…""#),
        "mounts" => form(
            "a list of mounts",
            r#"mounts = [{ type = "cache", target = "/root/.cache" }]"#,
        ),
        "network" => form(r#""default", "none" or "host""#, r#"network = "none""#),
        "security" => form(r#""sandbox" or "insecure""#, r#"security = "insecure""#),
        "devices" => form(
            "a list of device names",
            r#"devices = ["vendor.com/gpu=all"]"#,
        ),
        _ => None,
    }
}

fn mount_key(key: &str) -> Option<KeyForm> {
    match key {
        "type" => form(
            r#""cache", "bind", "secret", "tmpfs" or "ssh""#,
            r#"type = "cache""#,
        ),
        "target" => form("a path in the container", r#"target = "/root/.cache""#),
        "source" => form("a path", r#"source = "go.sum""#),
        "from" => form("a stage or image", r#"from = "builder""#),
        "id" => form("an id", r#"id = "npm""#),
        "sharing" => form(
            r#""shared", "private" or "locked""#,
            r#"sharing = "locked""#,
        ),
        "readonly" | "required" => form("true or false", "readonly = false"),
        "mode" => form("a file mode", r#"mode = "0400""#),
        "uid" | "gid" => form("a number", "uid = 1000"),
        "size" => form("a size", r#"size = "64m""#),
        "env" => form("a variable name", r#"env = "TOKEN""#),
        _ => None,
    }
}

fn artifact_key(key: &str) -> Option<KeyForm> {
    match key {
        "stage" => form("the name of a stage", r#"stage = "builder""#),
        "path" => form("an absolute path in that stage", r#"path = "/out/app""#),
        "description" => form("a sentence", r#"description = "the server binary""#),
        _ => None,
    }
}

fn target_key(key: &str) -> Option<KeyForm> {
    match key {
        "stage" => form("the name of a stage", r#"stage = "runtime""#),
        "tags" => form("a list of image tags", r#"tags = ["app:latest"]"#),
        "labels" => form(
            "a table of labels",
            r#"labels = { "org.opencontainers.image.version" = "1.0" }"#,
        ),
        "args" => form(
            "a table of build argument values",
            r#"args = { VERSION = "2.0" }"#,
        ),
        "platforms" => form("a list of platforms", r#"platforms = ["linux/amd64"]"#),
        "artifacts" => form("a list of artifact names", r#"artifacts = ["app"]"#),
        "output" => form("a directory, relative to this file", r#"output = "dist/""#),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::key_form;

    fn of(path: &str) -> Option<String> {
        let path: Vec<String> = path.split('.').map(str::to_owned).collect();
        key_form(&path).map(|f| format!("{}: {}", f.what, f.example))
    }

    #[test]
    fn keys_are_told_apart_by_where_they_sit() {
        assert_eq!(
            of("targets.app.tags").as_deref(),
            Some(r#"a list of image tags: tags = ["app:latest"]"#)
        );
        assert!(of("targets.app.artifacts").is_some_and(|f| f.contains("artifact names")));
        assert!(of("artifacts").is_some_and(|f| f.contains("table of artifacts")));
        assert!(of("stages.a.steps.mounts.env").is_some_and(|f| f.contains("variable name")));
        assert!(of("stages.a.steps.env").is_some_and(|f| f.contains("table of variables")));
        assert!(of("stages.a.steps").is_some_and(|f| f.contains("list of steps")));
        assert_eq!(of("stages.a").as_deref(), Some("a table: [stages.a]"));
        assert_eq!(of("nowhere.at.all"), None);
    }
}
