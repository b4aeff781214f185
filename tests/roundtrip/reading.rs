//! A Dockerfile's meaning for the round trip: BuildKit's reading (the
//! dump's keywords, flags and arguments, plus heredoc bodies), stage by
//! stage, after the normalisations listed in `NORMALISATIONS`.

use std::collections::BTreeMap;

use stages::dockerfile::{Dockerfile, Node};

/// What the comparison forgives, and why each is harmless. The same list
/// is in `docs/roundtrip.md`.
///
/// 1. Keyword case, whitespace, comments, blank lines, line continuations
///    and parser directives (`# syntax`, `# escape`, `# check`) — they are
///    not part of BuildKit's reading (the dump) of an instruction.
/// 2. Names given to unnamed stages (`stage-N`) and the case of stage names
///    (BuildKit lower-cases them).
/// 3. How a stage is referenced: `FROM <stage>`, `COPY --from=<index>`,
///    `--from=<name>` and a mount's `from=` are compared as the stage's index.
/// 4. ENV, LABEL and ARG with several pairs are compared one pair at a time;
///    values, and COPY and ADD paths, after the lexer's quote removal (so
///    `A="x y"` ≡ `A='x y'`, `COPY "$APP"/bin` ≡ `COPY $APP/bin`; a context
///    source written absolute as relative, `COPY /a b` ≡ `COPY a b`), and
///    the legacy `ENV key value` form as `ENV key=value`; a FROM base after
///    quote removal too (`FROM "${BASE}"` ≡ `FROM ${BASE}`).
/// 5. Image configuration (CMD, ENTRYPOINT, HEALTHCHECK, STOPSIGNAL, MAINTAINER: the last
///    one counts; EXPOSE, VOLUME and ONBUILD accumulate; LABEL keys, the last
///    value counts) is compared as the stage's resulting config, not by
///    position: stages.toml keeps it in stage keys written after the steps.
///    An EXPOSE host mapping counts as the container port it exposes.
/// 6. Flags are compared as a set; boolean flags as their value
///    (`--link` ≡ `--link=true`, `--link=false` ≡ no flag); `--mount` as its
///    parsed options (`dst` ≡ `target`, `src` ≡ `source`, `ro` ≡
///    `readonly=true`, `rw` ≡ `readonly=false`, type `bind` by default);
///    `--unpack` ≡ `--unpack=true` (but `--unpack=false` is kept: without
///    the flag, the source decides).
pub const NORMALISATIONS: &str = "keyword case and layout; names of unnamed stages; stage references as indexes; ENV/LABEL/ARG pair by pair, COPY/ADD paths and FROM bases after quote removal, context sources relative; image config as the resulting config (EXPOSE host mappings as their container port); flags as sets with boolean and mount options parsed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub meta_args: Vec<(String, Option<String>)>,
    pub stages: Vec<StageReading>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageReading {
    pub base: String,
    pub platform: Option<String>,
    /// `None` for an unnamed stage.
    pub name: Option<String>,
    pub steps: Vec<Instruction>,
    pub config: Config,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instruction {
    pub keyword: String,
    pub flags: Vec<String>,
    pub args: Vec<String>,
    /// Name, body, chomp, expand.
    pub heredocs: Vec<(String, String, bool, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub cmd: Option<Instruction>,
    pub entrypoint: Option<Instruction>,
    pub healthcheck: Option<Instruction>,
    pub stopsignal: Option<Instruction>,
    pub maintainer: Option<Instruction>,
    pub expose: Vec<String>,
    pub volumes: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub onbuild: Vec<String>,
}

pub fn read(file: &Dockerfile) -> Result<Reading, String> {
    let escape = file.escape;
    let first = file
        .nodes
        .iter()
        .position(|n| n.name() == "from")
        .ok_or("no FROM")?;
    let meta_args = file.nodes[..first]
        .iter()
        .flat_map(|n| n.args.iter().map(|w| arg_pair(w, escape)))
        .collect();
    let mut groups: Vec<&[Node]> = Vec::new();
    let mut start = first;
    for (i, node) in file.nodes.iter().enumerate().skip(first + 1) {
        if node.name() == "from" {
            groups.push(&file.nodes[start..i]);
            start = i;
        }
    }
    groups.push(&file.nodes[start..]);
    let names: Vec<Option<String>> = groups
        .iter()
        .map(|g| match g[0].args.as_slice() {
            [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let stage_ref = |text: &str, current: usize| -> String {
        if let Ok(i) = text.parse::<usize>()
            && i < current
        {
            return format!("stage#{i}");
        }
        let lower = text.to_ascii_lowercase();
        match names
            .iter()
            .position(|n| n.as_deref() == Some(lower.as_str()))
        {
            Some(i) => format!("stage#{i}"),
            None => text.to_owned(),
        }
    };
    let mut stages = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let from = &group[0];
        let base = from
            .args
            .first()
            .map(|b| unquote(b, escape))
            .unwrap_or_default();
        let base = match names[..index]
            .iter()
            .position(|n| n.as_deref() == Some(base.to_ascii_lowercase().as_str()))
        {
            Some(i) => format!("stage#{i}"),
            None => base,
        };
        let platform = from
            .flags
            .iter()
            .find_map(|f| f.strip_prefix("--platform=").map(|p| unquote(p, escape)));
        let mut stage = StageReading {
            base,
            platform,
            name: names[index].clone(),
            steps: Vec::new(),
            config: Config::default(),
        };
        for node in &group[1..] {
            let mut instruction = instruction(node, escape, &|t| stage_ref(t, index));
            match instruction.keyword.as_str() {
                "cmd" => stage.config.cmd = Some(instruction),
                "entrypoint" => stage.config.entrypoint = Some(instruction),
                "healthcheck" => stage.config.healthcheck = Some(instruction),
                "stopsignal" => stage.config.stopsignal = Some(instruction),
                "maintainer" => stage.config.maintainer = Some(instruction),
                "expose" => stage
                    .config
                    .expose
                    .extend(instruction.args.iter().map(|p| container_port(p))),
                "volume" => stage.config.volumes.append(&mut instruction.args),
                "onbuild" => stage.config.onbuild.push(onbuild_text(node)),
                "label" => {
                    for pair in instruction.args.chunks(2) {
                        if let [k, v] = pair {
                            stage.config.labels.insert(k.clone(), v.clone());
                        }
                    }
                }
                "env" | "arg" => {
                    let per = if instruction.keyword == "env" { 2 } else { 1 };
                    for pair in instruction.args.chunks(per) {
                        stage.steps.push(Instruction {
                            keyword: instruction.keyword.clone(),
                            args: pair.to_vec(),
                            ..Instruction::default()
                        });
                    }
                }
                _ => stage.steps.push(instruction),
            }
        }
        stages.push(stage);
    }
    Ok(Reading { meta_args, stages })
}

/// The container port of an EXPOSE word (`127.0.0.1:80:80/udp` is `80/udp`).
fn container_port(word: &str) -> String {
    if word.contains('$') || !word.contains(':') {
        return word.to_owned();
    }
    let (spec, protocol) = match word.rsplit_once('/') {
        Some((spec, protocol)) => (spec, Some(protocol)),
        None => (word, None),
    };
    let container = spec.rsplit(':').next().unwrap_or(spec);
    protocol.map_or_else(|| container.to_owned(), |p| format!("{container}/{p}"))
}

fn onbuild_text(node: &Node) -> String {
    let original = node.original.trim_start();
    original
        .get(node.keyword.len()..)
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn instruction(node: &Node, escape: char, stage_ref: &dyn Fn(&str) -> String) -> Instruction {
    let keyword = node.name().into_owned();
    let args = match keyword.as_str() {
        "env" | "label" => node
            .args
            .chunks(3)
            .flat_map(|kv| {
                [
                    unquote(&kv[0], escape),
                    unquote(kv.get(1).map_or("", |v| v.as_ref()), escape),
                ]
            })
            .collect(),
        "arg" => node
            .args
            .iter()
            .map(|w| {
                let (k, v) = arg_pair(w, escape);
                v.map_or(k.clone(), |v| format!("{k}={v}"))
            })
            .collect(),
        // Paths after the lexer's quote removal (`"$APP"/bin` is `$APP/bin`).
        "copy" | "add" if node.heredocs.is_empty() && !node.json => node
            .args
            .iter()
            .map(|a| {
                if a.contains(['\'', '"']) {
                    unquote(a, escape)
                } else {
                    a.to_string()
                }
            })
            .collect(),
        _ => node.args.iter().map(|a| a.to_string()).collect(),
    };
    let args = if matches!(keyword.as_str(), "copy" | "add")
        && node.heredocs.is_empty()
        && !node
            .flags
            .iter()
            .any(|f| f.to_ascii_lowercase().starts_with("--from="))
    {
        context_relative(args)
    } else {
        args
    };
    let mut flags: Vec<String> = node
        .flags
        .iter()
        .filter_map(|f| flag(f, escape, stage_ref))
        .collect();
    flags.sort();
    Instruction {
        keyword,
        flags,
        args,
        heredocs: node
            .heredocs
            .iter()
            .map(|h| (h.name.clone(), h.content.clone(), h.chomp, h.expand))
            .collect(),
    }
}

/// Context sources with the leading `/` BuildKit ignores removed (`/` is `.`).
fn context_relative(mut args: Vec<String>) -> Vec<String> {
    let sources = args.len().saturating_sub(1);
    for source in &mut args[..sources] {
        if source.starts_with('/') {
            let relative = source.trim_start_matches('/');
            *source = if relative.is_empty() {
                ".".to_owned()
            } else {
                relative.to_owned()
            };
        }
    }
    args
}

fn arg_pair(word: &str, escape: char) -> (String, Option<String>) {
    match word.split_once('=') {
        Some((k, v)) => (k.to_owned(), Some(unquote(v, escape))),
        None => (word.to_owned(), None),
    }
}

const BOOLEAN_FLAGS: &[&str] = &["link", "parents", "keep-git-dir"];

fn flag(word: &str, escape: char, stage_ref: &dyn Fn(&str) -> String) -> Option<String> {
    let body = word.strip_prefix("--")?;
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n.to_ascii_lowercase(), Some(unquote(v, escape))),
        None => (body.to_ascii_lowercase(), None),
    };
    if BOOLEAN_FLAGS.contains(&name.as_str()) {
        let on = value
            .as_deref()
            .is_none_or(|v| v.eq_ignore_ascii_case("true"));
        return on.then_some(name);
    }
    let value = value.unwrap_or_default();
    Some(match name.as_str() {
        "from" => format!("from={}", stage_ref(&value)),
        "mount" => format!("mount={}", mount(&value, stage_ref)),
        // Unset, the source decides; so `--unpack=false` is no absent flag.
        "unpack" if value.is_empty() => "unpack=true".to_owned(),
        _ => format!("{name}={value}"),
    })
}

fn mount(text: &str, stage_ref: &dyn Fn(&str) -> String) -> String {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    fields.insert("type".into(), "bind".into());
    for field in csv(text) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.to_owned()),
            None => (field.to_ascii_lowercase(), "true".to_owned()),
        };
        let (key, value) = match key.as_str() {
            "dst" | "destination" => ("target".to_owned(), value),
            "src" => ("source".to_owned(), value),
            "ro" => ("readonly".to_owned(), value.to_ascii_lowercase()),
            "rw" | "readwrite" => (
                "readonly".to_owned(),
                (value.eq_ignore_ascii_case("false")).to_string(),
            ),
            "readonly" | "required" => (key, value.to_ascii_lowercase()),
            "from" => (key, stage_ref(&value)),
            _ => (key, value),
        };
        if !key.is_empty() {
            fields.insert(key, value);
        }
    }
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn csv(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// The lexer's quote removal, variables left as written; a `$` that quotes
/// or the escape character protect from expansion is kept as `\$`, so a
/// literal dollar and an expansion never compare equal.
fn unquote(word: &str, escape: char) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            for c in chars.by_ref().take_while(|&c| c != '\'') {
                if c == '$' {
                    out.push('\\');
                }
                out.push(c);
            }
        } else if c == '"' {
            while let Some(c) = chars.next() {
                if c == '"' {
                    break;
                }
                if c == escape && matches!(chars.peek(), Some(&n) if n == '"' || n == escape) {
                    out.extend(chars.next());
                } else if c == escape && chars.peek() == Some(&'$') {
                    out.push('\\');
                } else {
                    out.push(c);
                }
            }
        } else if c == escape {
            match chars.next() {
                Some('$') => out.push_str("\\$"),
                Some(next) => out.push(next),
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}
