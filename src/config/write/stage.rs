//! One `[stages.NAME]` table: base, stage keys, `steps = [ … ]` with one
//! inline table per line, then image config.

use std::fmt::Write as _;

use super::{Notes, arg_table, comments, encode};
use crate::config::forms::HealthcheckTable;
use crate::config::model::{
    Add, Base, CopyFrom, CopyOptions, Health, ImageConfig, Mount, Stage, Step, StepKind,
};
use crate::located::Located;

pub fn write_stage(out: &mut String, stage: &Stage, notes: &Notes) {
    let name = stage.name.value.as_str();
    if let Some(lines) = notes.stages.get(name) {
        comments(out, lines, "");
    }
    let _ = writeln!(out, "[stages.{}]", encode::key(name));
    let key = |out: &mut String, key: &str, value: String| {
        if let Some(lines) = notes.keys.get(&(name.to_owned(), key.to_owned())) {
            comments(out, lines, "");
        }
        let _ = writeln!(out, "{key} = {value}");
    };
    let from = match &stage.from.value {
        Base::Image(image) => encode::string(image),
        Base::Stage(stage) => encode::inline(&[("stage".into(), encode::string(stage))]),
    };
    key(out, "from", from);
    if let Some(platform) = &stage.platform {
        key(out, "platform", encode::string(platform));
    }
    if !stage.args.is_empty() {
        key(out, "args", arg_table(&stage.args));
    }
    if !stage.env.is_empty() {
        key(out, "env", env_table(&stage.env));
    }
    if let Some(dir) = &stage.workdir {
        key(out, "workdir", encode::string(dir));
    }
    if let Some(user) = &stage.user {
        key(out, "user", encode::string(user));
    }
    if let Some(shell) = &stage.shell {
        key(out, "shell", encode::strings(&shell.value));
    }
    let trailing = notes.trailing.get(name);
    if !stage.steps.is_empty() || trailing.is_some() {
        out.push_str("steps = [\n");
        for (index, step) in stage.steps.iter().enumerate() {
            if let Some(lines) = notes.steps.get(&(name.to_owned(), index)) {
                comments(out, lines, "  ");
            }
            let _ = writeln!(out, "  {},", step_table(step));
        }
        if let Some(lines) = trailing {
            comments(out, lines, "  ");
        }
        out.push_str("]\n");
    }
    for (name, value) in config_keys(&stage.config) {
        key(out, name, value);
    }
}

fn env_table(pairs: &[(Located<String>, Located<String>)]) -> String {
    let plain: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.value.as_str(), v.value.as_str()))
        .collect();
    encode::string_map(&plain)
}

/// The step as one inline table: its kind key first, then its options.
fn step_table(step: &Step) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| pairs.push((k.to_owned(), v));
    match &step.kind {
        StepKind::Run(run) => {
            put("run", encode::command(&run.command));
            if !run.mounts.is_empty() {
                let mounts: Vec<String> = run.mounts.iter().map(mount_table).collect();
                put("mounts", format!("[{}]", mounts.join(", ")));
            }
            if let Some(network) = &run.network {
                put("network", encode::string(network));
            }
            if let Some(security) = &run.security {
                put("security", encode::string(security));
            }
            if !run.devices.is_empty() {
                put("devices", located_strings(&run.devices));
            }
        }
        StepKind::Copy(copy) => {
            put("copy", sources(&copy.sources));
            put("to", encode::string(&copy.to));
            match &copy.from {
                Some(CopyFrom::Stage(stage)) => put("from", encode::string(stage)),
                Some(CopyFrom::Image(image)) => put("from-image", encode::string(image)),
                None => {}
            }
            copy_options(&mut put, &copy.options);
            if !copy.exclude.is_empty() {
                put("exclude", located_strings(&copy.exclude));
            }
            if copy.parents {
                put("parents", "true".into());
            }
            if !copy.heredocs.is_empty() {
                put("heredocs", encode::string_map(&copy.heredocs));
            }
        }
        StepKind::Artifact(copy) => {
            put("artifact", encode::string(&copy.artifact));
            put("to", encode::string(&copy.to));
            copy_options(&mut put, &copy.options);
        }
        StepKind::Add(add) => add_pairs(&mut put, add),
        StepKind::Env(pairs) => put("env", env_table(pairs)),
        StepKind::Workdir(dir) => put("workdir", encode::string(dir)),
        StepKind::User(user) => put("user", encode::string(user)),
        StepKind::Arg(decls) => put("arg", arg_table(decls)),
        StepKind::Shell(shell) => put("shell", encode::strings(&shell.value)),
        StepKind::Config(config) => {
            for (key, value) in config_keys(config) {
                put(step_key(key), value);
            }
        }
    }
    encode::inline(&pairs)
}

fn add_pairs(put: &mut impl FnMut(&str, String), add: &Add) {
    put("add", sources(&add.sources));
    put("to", encode::string(&add.to));
    copy_options(put, &add.options);
    if let Some(checksum) = &add.checksum {
        put("checksum", encode::string(checksum));
    }
    if add.keep_git_dir {
        put("keep-git-dir", "true".into());
    }
    if let Some(unpack) = add.unpack {
        put("unpack", unpack.to_string());
    }
    if !add.exclude.is_empty() {
        put("exclude", located_strings(&add.exclude));
    }
    if add.parents {
        put("parents", "true".into());
    }
}

fn copy_options(put: &mut impl FnMut(&str, String), options: &CopyOptions) {
    if let Some(chown) = &options.chown {
        put("chown", encode::string(chown));
    }
    if let Some(chmod) = &options.chmod {
        put("chmod", encode::string(chmod));
    }
    if options.link {
        put("link", "true".into());
    }
}

fn sources(sources: &[Located<String>]) -> String {
    match sources {
        [one] => encode::string(one),
        many => located_strings(many),
    }
}

fn located_strings(items: &[Located<String>]) -> String {
    let plain: Vec<&str> = items.iter().map(|s| s.value.as_str()).collect();
    encode::strings(&plain)
}

fn mount_table(mount: &Located<Mount>) -> String {
    let m = &mount.value;
    let mut pairs = vec![("type".to_owned(), encode::string(m.kind.as_str()))];
    let mut text = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            pairs.push((k.to_owned(), encode::string(v)));
        }
    };
    text("target", &m.target);
    text("source", &m.source);
    text("from", &m.from.as_ref().map(|f| f.value.clone()));
    text("id", &m.id);
    text("sharing", &m.sharing);
    if let Some(b) = m.readonly {
        pairs.push(("readonly".into(), b.to_string()));
    }
    if let Some(b) = m.required {
        pairs.push(("required".into(), b.to_string()));
    }
    let mut text = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            pairs.push((k.to_owned(), encode::string(v)));
        }
    };
    text("mode", &m.mode);
    if let Some(n) = m.uid {
        pairs.push(("uid".into(), n.to_string()));
    }
    if let Some(n) = m.gid {
        pairs.push(("gid".into(), n.to_string()));
    }
    let mut text = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            pairs.push((k.to_owned(), encode::string(v)));
        }
    };
    text("size", &m.size);
    text("env", &m.env);
    encode::inline(&pairs)
}

/// A config step's kind key: the instruction's name where the stage key
/// is a plural (`labels` → `label`, `volumes` → `volume`).
fn step_key(stage_key: &'static str) -> &'static str {
    match stage_key {
        "labels" => "label",
        "volumes" => "volume",
        other => other,
    }
}

/// The image config keys in a fixed order.
fn config_keys(config: &ImageConfig) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    if let Some(cmd) = &config.cmd {
        keys.push(("cmd", encode::command(cmd)));
    }
    if let Some(entrypoint) = &config.entrypoint {
        keys.push(("entrypoint", encode::command(entrypoint)));
    }
    if !config.expose.is_empty() {
        let ports: Vec<String> = config
            .expose
            .iter()
            .map(|p| match p.value.parse::<u16>() {
                Ok(n) if n.to_string() == p.value => n.to_string(),
                _ => encode::string(p),
            })
            .collect();
        keys.push(("expose", format!("[{}]", ports.join(", "))));
    }
    if !config.labels.is_empty() {
        keys.push(("labels", encode::string_map(&config.labels)));
    }
    if !config.volumes.is_empty() {
        keys.push(("volumes", located_strings(&config.volumes)));
    }
    if let Some(health) = &config.healthcheck {
        keys.push(("healthcheck", healthcheck(health)));
    }
    if let Some(signal) = &config.stop_signal {
        keys.push(("stop-signal", encode::string(signal)));
    }
    if let Some(author) = &config.maintainer {
        keys.push(("maintainer", encode::string(author)));
    }
    if !config.onbuild.is_empty() {
        keys.push(("onbuild", located_strings(&config.onbuild)));
    }
    keys
}

fn healthcheck(health: &Health) -> String {
    let table: &HealthcheckTable = match health {
        Health::None => return encode::string("none"),
        Health::Check(table) => table,
    };
    let mut pairs = vec![("cmd".to_owned(), encode::command(&table.cmd))];
    let durations = [
        ("interval", &table.interval),
        ("timeout", &table.timeout),
        ("start-period", &table.start_period),
        ("start-interval", &table.start_interval),
    ];
    for (name, value) in durations {
        if let Some(value) = value {
            pairs.push((name.to_owned(), encode::string(value)));
        }
    }
    if let Some(retries) = table.retries {
        pairs.push(("retries".into(), retries.to_string()));
    }
    encode::inline(&pairs)
}
