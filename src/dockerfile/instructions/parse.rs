//! Syntax node → typed instruction, after BuildKit's `instructions.ParseInstruction`:
//! the same argument counts, flag checks and messages.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::flags::{FlagError, FlagKind, FlagSpec, FlagValues, byte_at, check_flags};
use super::mount::{Mount, parse_mount};
use super::{
    Add, ArgDecl, Command, CommandLine, Copy, Flag, FlagList, From, Healthcheck, HealthcheckCmd,
    Instruction, KeyValue, Onbuild, Paths, Run, StageAlias, Volume,
};
use crate::diagnostics::{Diagnostic, Label, did_you_mean};
use crate::dockerfile::codes;
use crate::dockerfile::heredoc::parse_heredoc;
use crate::dockerfile::keyword::{KEYWORDS, Keyword};
use crate::dockerfile::syntax::{Args, Heredoc, Node, into_texts, piece};
use crate::located::Span;

const fn s(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        kind: FlagKind::String,
    }
}
const fn b(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        kind: FlagKind::Bool,
    }
}
const fn m(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        kind: FlagKind::Strings,
    }
}

pub const FROM_FLAGS: &[FlagSpec] = &[s("platform")];
pub const RUN_FLAGS: &[FlagSpec] = &[m("mount"), s("network"), s("security"), m("device")];
pub const COPY_FLAGS: &[FlagSpec] = &[
    s("chown"),
    s("from"),
    s("chmod"),
    b("link"),
    b("parents"),
    m("exclude"),
];
pub const ADD_FLAGS: &[FlagSpec] = &[
    s("chown"),
    s("chmod"),
    b("link"),
    b("keep-git-dir"),
    s("checksum"),
    b("unpack"),
    m("exclude"),
];
pub const HEALTHCHECK_FLAGS: &[FlagSpec] = &[
    s("interval"),
    s("timeout"),
    s("start-period"),
    s("start-interval"),
    s("retries"),
];

/// Context for building diagnostics about one node.
struct Req<'r, 'a> {
    node: &'r Node<'a>,
    source: &'r str,
    flags: FlagList<'a>,
}

impl<'a> Req<'_, 'a> {
    /// The keyword as messages name it; only errors need it.
    fn upper(&self) -> String {
        self.node.keyword.to_uppercase()
    }

    fn error(&self, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, message).with_label(Label::primary(
            self.node.span,
            format!("in this {}", self.upper()),
        ))
    }

    /// The span of `needle` inside this instruction's text, else the whole node.
    fn span_of(&self, needle: &str) -> Span {
        let span = self.node.span;
        self.source
            .get(span.start..span.end)
            .and_then(|text| text.find(needle))
            .map_or(span, |at| {
                Span::new(span.start + at, span.start + at + needle.len())
            })
    }

    fn check(&self, specs: &[FlagSpec]) -> Result<FlagValues<'a>, Diagnostic> {
        check_flags(&self.flags, specs).map_err(|e: FlagError| {
            let text = self
                .flags
                .get(e.index)
                .map(Flag::to_text)
                .unwrap_or_default();
            let needle = text.split('=').next().unwrap_or("").to_string();
            let mut d = Diagnostic::error(e.code, e.message)
                .with_label(Label::primary(self.span_of(&needle), "this flag"));
            if let Some(help) = e.help {
                d = d.with_help(help);
            }
            d
        })
    }

    fn at_least_one(&self) -> Diagnostic {
        self.error(
            codes::MISSING_ARGUMENTS,
            format!("{} requires at least one argument", self.upper()),
        )
    }

    fn exactly_one(&self) -> Diagnostic {
        self.error(
            codes::INVALID_ARGUMENTS,
            format!("{} requires exactly one argument", self.upper()),
        )
    }
}

/// Reads one syntax node as a typed instruction. `source` is the file text
/// the node's span points into (used to place diagnostics on flags).
pub fn parse_instruction<'a>(node: &Node<'a>, source: &str) -> Result<Instruction<'a>, Diagnostic> {
    instruction_of(&mut node.clone(), source)
}

/// What an instruction takes from its node, rather than copies: its
/// arguments and heredocs.
struct Parts<'a> {
    args: Args<'a>,
    heredocs: Vec<Heredoc>,
}

/// [`parse_instruction`] taking from the node what the instruction keeps,
/// so that its text and lists move instead of being copied. The node is
/// left without arguments, heredocs, comments or keyword.
pub fn instruction_of<'a>(
    node: &mut Node<'a>,
    source: &str,
) -> Result<Instruction<'a>, Diagnostic> {
    instruction_as(node, node.known_keyword(), source)
}

/// [`instruction_of`] for a node whose keyword is already known to be `keyword`.
pub(crate) fn instruction_as<'a>(
    node: &mut Node<'a>,
    keyword: Option<Keyword>,
    source: &str,
) -> Result<Instruction<'a>, Diagnostic> {
    let parts = Parts {
        args: std::mem::take(&mut node.args),
        heredocs: std::mem::take(&mut node.heredocs),
    };
    let comments = std::mem::take(&mut node.comments);
    let req = Req {
        node,
        source,
        flags: node.flags.iter().map(Flag::from_text).collect(),
    };
    let command = parse_command(&req, keyword, parts)?;
    let flags = req.flags;
    Ok(Instruction {
        keyword: std::mem::take(&mut node.keyword),
        flags,
        command,
        comments,
        span: node.span,
        start_line: node.start_line,
        end_line: node.end_line,
    })
}

fn parse_command<'a>(
    req: &Req<'_, 'a>,
    keyword: Option<Keyword>,
    parts: Parts<'a>,
) -> Result<Command<'a>, Diagnostic> {
    let node = req.node;
    let Parts { args, heredocs } = parts;
    let Some(keyword) = keyword else {
        return Err(unknown_instruction(req));
    };
    match keyword {
        Keyword::Env => {
            req.check(&[])?;
            Ok(Command::Env(key_values(req, &args)?))
        }
        Keyword::Label => {
            req.check(&[])?;
            Ok(Command::Label(key_values(req, &args)?))
        }
        Keyword::Maintainer => {
            let [one] = args.as_slice() else {
                return Err(req.exactly_one());
            };
            req.check(&[])?;
            Ok(Command::Maintainer(one.clone()))
        }
        Keyword::Add => {
            if args.len() < 2 {
                return Err(no_destination(req));
            }
            let f = req.check(ADD_FLAGS)?;
            Ok(Command::Add(Add {
                paths: paths(req, args, heredocs)?,
                chown: f.string("chown"),
                chmod: f.string("chmod"),
                checksum: f.string("checksum"),
                link: f.bool("link"),
                keep_git_dir: f.bool("keep-git-dir"),
                unpack: f.optional_bool("unpack"),
                exclude: f.strings("exclude"),
            }))
        }
        Keyword::Copy => {
            if args.len() < 2 {
                return Err(no_destination(req));
            }
            let f = req.check(COPY_FLAGS)?;
            Ok(Command::Copy(Copy {
                paths: paths(req, args, heredocs)?,
                from: f.string("from"),
                chown: f.string("chown"),
                chmod: f.string("chmod"),
                link: f.bool("link"),
                parents: f.bool("parents"),
                exclude: f.strings("exclude"),
            }))
        }
        Keyword::From => parse_from(req, &args),
        Keyword::Onbuild => parse_onbuild(req, &heredocs),
        Keyword::Workdir => {
            let [one] = args.as_slice() else {
                return Err(req.exactly_one());
            };
            req.check(&[])?;
            Ok(Command::Workdir(one.clone()))
        }
        Keyword::Run => {
            let f = req.check(RUN_FLAGS)?;
            let mut mounts = Vec::with_capacity(f.each("mount").count());
            for value in f.each("mount") {
                let mount = match value {
                    Cow::Borrowed(v) => parse_mount(v),
                    Cow::Owned(v) => parse_mount(v).map(Mount::into_owned),
                };
                let mount = mount.map_err(|e| {
                    Diagnostic::error(e.code, e.message)
                        .with_label(Label::primary(req.span_of(value), "this mount"))
                        .with_help("name the stage with `FROM … AS name` and mount from that name")
                })?;
                mounts.push(mount);
            }
            Ok(Command::Run(Run {
                command: command_line(node, args, heredocs),
                mounts,
                network: f.string("network"),
                security: f.string("security"),
                devices: f.strings("device"),
            }))
        }
        Keyword::Cmd => {
            req.check(&[])?;
            Ok(Command::Cmd(command_line(node, args, heredocs)))
        }
        Keyword::Entrypoint => {
            req.check(&[])?;
            Ok(Command::Entrypoint(command_line(node, args, heredocs)))
        }
        Keyword::Healthcheck => parse_healthcheck(req, &args),
        Keyword::Expose => {
            if args.is_empty() {
                return Err(req.at_least_one());
            }
            req.check(&[])?;
            Ok(Command::Expose(into_texts(args)))
        }
        Keyword::User => {
            let [one] = args.as_slice() else {
                return Err(req.exactly_one());
            };
            req.check(&[])?;
            Ok(Command::User(one.clone()))
        }
        Keyword::Volume => {
            if args.is_empty() {
                return Err(req.at_least_one());
            }
            req.check(&[])?;
            if args.iter().any(|v| v.trim().is_empty()) {
                return Err(req.error(
                    codes::INVALID_ARGUMENTS,
                    "VOLUME specified can not be an empty string",
                ));
            }
            Ok(Command::Volume(Volume {
                paths: into_texts(args),
                json: node.json,
            }))
        }
        // BuildKit reads no flags for STOPSIGNAL and ARG: they are ignored.
        Keyword::Stopsignal => {
            let [one] = args.as_slice() else {
                return Err(req.exactly_one());
            };
            Ok(Command::StopSignal(one.clone()))
        }
        Keyword::Arg => {
            if args.is_empty() {
                return Err(req.at_least_one());
            }
            let mut decls = SmallVec::with_capacity(args.len());
            for arg in &args {
                let decl = match byte_at(arg, b'=').map(|at| (&arg[..at], &arg[at + 1..])) {
                    Some(("", _)) => {
                        return Err(
                            req.error(codes::INVALID_ARGUMENTS, "ARG names can not be blank")
                        );
                    }
                    Some((k, _)) => ArgDecl {
                        name: piece(arg, 0..k.len()),
                        default: Some(piece(arg, k.len() + 1..arg.len())),
                    },
                    None => ArgDecl {
                        name: arg.clone(),
                        default: None,
                    },
                };
                decls.push(decl);
            }
            Ok(Command::Arg(decls))
        }
        Keyword::Shell => {
            req.check(&[])?;
            if args.is_empty() {
                return Err(req.at_least_one());
            }
            if !node.json {
                return Err(req
                    .error(
                        codes::INVALID_ARGUMENTS,
                        "SHELL requires the arguments to be in JSON form",
                    )
                    .with_help("write it as a JSON array: SHELL [\"/bin/sh\", \"-c\"]"));
            }
            Ok(Command::Shell(args.into_vec()))
        }
    }
}

fn unknown_instruction(req: &Req) -> Diagnostic {
    let keyword = &req.node.keyword;
    let mut message = format!("unknown instruction: {keyword}");
    let upper = keyword.to_uppercase();
    let instructions: Vec<String> = KEYWORDS.iter().map(|k| k.to_uppercase()).collect();
    let mut d = Diagnostic::error(codes::UNKNOWN_INSTRUCTION, String::new());
    if let Some(s) = did_you_mean(&upper, instructions.iter().map(String::as_str)) {
        let s = if keyword.chars().any(|c| c.is_uppercase()) {
            s.to_string()
        } else {
            s.to_lowercase()
        };
        message.push_str(&format!(" (did you mean {s}?)"));
        d = d.with_help(format!("did you mean `{s}`?"));
    } else {
        d = d.with_help(format!("instructions are: {}", instructions.join(", ")));
    }
    d.message = message;
    d.with_label(Label::primary(req.span_of(keyword), "not an instruction"))
}

fn no_destination(req: &Req) -> Diagnostic {
    req.error(
        codes::MISSING_ARGUMENTS,
        format!(
            "{} requires at least two arguments, but only one was provided. Destination could not be determined",
            req.upper()
        ),
    )
    .with_help("give one or more sources, then the destination")
}

fn key_values<'a>(
    req: &Req<'_, 'a>,
    args: &[Cow<'a, str>],
) -> Result<SmallVec<[KeyValue<'a>; 1]>, Diagnostic> {
    if args.is_empty() {
        return Err(req.at_least_one());
    }
    let mut pairs = SmallVec::with_capacity(args.len() / 3);
    for triple in args.chunks(3) {
        let [key, value, sep] = triple else {
            return Err(req.error(
                codes::INVALID_ARGUMENTS,
                format!("Bad input to {}, too many arguments", req.upper()),
            ));
        };
        if key.is_empty() {
            return Err(req.error(
                codes::INVALID_ARGUMENTS,
                format!("{} names can not be blank", req.upper()),
            ));
        }
        pairs.push(KeyValue {
            key: key.clone(),
            value: value.clone(),
            legacy: sep.is_empty(),
        });
    }
    Ok(pairs)
}

fn paths<'a>(
    req: &Req<'_, 'a>,
    mut args: Args<'a>,
    heredocs: Vec<Heredoc>,
) -> Result<Paths<'a>, Diagnostic> {
    let node = req.node;
    let Some(dest) = args.pop() else {
        return Err(no_destination(req));
    };
    let sources = into_texts(args);
    if parse_heredoc(&dest).is_some() {
        return Err(req.error(
            codes::INVALID_HEREDOC,
            format!("{} cannot accept a heredoc as a destination", req.upper()),
        ));
    }
    Ok(Paths {
        sources,
        dest,
        json: node.json,
        heredocs,
    })
}

fn command_line<'a>(node: &Node<'a>, args: Args<'a>, heredocs: Vec<Heredoc>) -> CommandLine<'a> {
    CommandLine {
        args: into_texts(args),
        json: node.json,
        heredocs,
    }
}

/// BuildKit's `^[a-z][a-z0-9-_.]*$` for stage names, after lower-casing
/// (done character by character rather than into a new string; byte by
/// byte for ASCII names, which are nearly all of them).
fn is_valid_stage_name_in_any_case(name: &str) -> bool {
    if !name.is_ascii() {
        return is_valid_stage_name_by_chars(name);
    }
    let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b);
    let mut bytes = name.bytes().map(|b| b.to_ascii_lowercase());
    bytes.next().is_some_and(|b| b.is_ascii_lowercase()) && bytes.all(valid)
}

fn is_valid_stage_name_by_chars(name: &str) -> bool {
    let mut chars = name.chars().flat_map(char::to_lowercase);
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn parse_from<'a>(req: &Req<'_, 'a>, args: &[Cow<'a, str>]) -> Result<Command<'a>, Diagnostic> {
    let alias = match args {
        [_, as_keyword, name] if as_keyword.eq_ignore_ascii_case("as") => {
            if !is_valid_stage_name_in_any_case(name) {
                return Err(Diagnostic::error(
                    codes::INVALID_STAGE_NAME,
                    format!(
                        "invalid name for build stage: {}, name can't start with a number or contain symbols",
                        crate::dockerfile::quote::go_quote(name)
                    ),
                )
                .with_label(Label::primary(req.span_of(name), "this name"))
                .with_help("start with a letter; use letters, digits, `-`, `_` and `.`"));
            }
            Some(StageAlias {
                as_keyword: as_keyword.clone(),
                name: name.clone(),
            })
        }
        [_] => None,
        _ => {
            return Err(req
                .error(
                    codes::INVALID_ARGUMENTS,
                    "FROM requires either one or three arguments",
                )
                .with_help("write `FROM image` or `FROM image AS name`"));
        }
    };
    let f = req.check(FROM_FLAGS)?;
    Ok(Command::From(From {
        image: args[0].clone(),
        platform: f.string("platform"),
        alias,
    }))
}

fn parse_onbuild<'a>(req: &Req<'_, 'a>, heredocs: &[Heredoc]) -> Result<Command<'a>, Diagnostic> {
    let Some(trigger) = &req.node.sub else {
        return Err(req.at_least_one());
    };
    req.check(&[])?;
    let upper = trigger.keyword.trim().to_uppercase();
    match upper.as_str() {
        "ONBUILD" => {
            return Err(req.error(
                codes::INVALID_ARGUMENTS,
                "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
            ));
        }
        "MAINTAINER" | "FROM" => {
            return Err(req.error(
                codes::INVALID_ARGUMENTS,
                format!("{upper} isn't allowed as an ONBUILD trigger"),
            ));
        }
        _ => {}
    }
    let original = req.node.original.trim_start();
    let after_keyword = original
        .get(..7)
        .filter(|k| k.eq_ignore_ascii_case("onbuild"))
        .map_or(original, |_| original[7..].trim_start());
    let mut expression = after_keyword.to_string();
    for doc in heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    Ok(Command::Onbuild(Onbuild {
        expression: Cow::Owned(expression),
        trigger: Some(Box::new(trigger.as_ref().clone().into_owned())),
    }))
}

fn parse_healthcheck<'a>(
    req: &Req<'_, 'a>,
    args: &[Cow<'a, str>],
) -> Result<Command<'a>, Diagnostic> {
    let node = req.node;
    let Some((typ, rest)) = args.split_first() else {
        return Err(req.at_least_one());
    };
    if typ.eq_ignore_ascii_case("none") {
        if !rest.is_empty() {
            return Err(req.error(
                codes::INVALID_ARGUMENTS,
                "HEALTHCHECK NONE takes no arguments",
            ));
        }
        return Ok(Command::Healthcheck(Healthcheck::None(typ.clone())));
    }
    let f = req.check(HEALTHCHECK_FLAGS)?;
    if !typ.eq_ignore_ascii_case("cmd") {
        return Err(req
            .error(
                codes::INVALID_ARGUMENTS,
                format!(
                    "Unknown type {} in HEALTHCHECK (try CMD)",
                    crate::dockerfile::quote::go_quote(&typ.to_uppercase())
                ),
            )
            .with_help("write `HEALTHCHECK CMD …` or `HEALTHCHECK NONE`"));
    }
    if rest.is_empty() {
        return Err(req.error(
            codes::MISSING_ARGUMENTS,
            "Missing command after HEALTHCHECK CMD",
        ));
    }
    for name in ["interval", "timeout", "start-period", "start-interval"] {
        if let Some(v) = f.string(name)
            && !v.is_empty()
            && !is_go_duration(&v)
        {
            return Err(Diagnostic::error(
                codes::INVALID_FLAG,
                format!(
                    "time: invalid duration {}",
                    crate::dockerfile::quote::go_quote(&v)
                ),
            )
            .with_label(Label::primary(req.span_of(&v), "not a duration"))
            .with_help("write a duration such as 30s, 1m30s or 500ms"));
        }
    }
    if let Some(r) = f.string("retries")
        && !r.is_empty()
    {
        match r.parse::<i32>() {
            Ok(n) if n < 0 => {
                return Err(req.error(
                    codes::INVALID_FLAG,
                    format!("--retries cannot be negative ({n})"),
                ));
            }
            Ok(_) => {}
            Err(_) => {
                return Err(req.error(
                    codes::INVALID_FLAG,
                    format!(
                        "strconv.ParseInt: parsing {}: invalid syntax",
                        crate::dockerfile::quote::go_quote(&r)
                    ),
                ));
            }
        }
    }
    Ok(Command::Healthcheck(Healthcheck::Cmd(HealthcheckCmd {
        cmd_keyword: typ.clone(),
        command: CommandLine {
            args: rest.iter().cloned().collect(),
            json: node.json,
            heredocs: Vec::new(),
        },
        interval: f.string("interval"),
        timeout: f.string("timeout"),
        start_period: f.string("start-period"),
        start_interval: f.string("start-interval"),
        retries: f.string("retries"),
    })))
}

/// Go's `time.ParseDuration` grammar: `[-+]` then number-unit pairs, or `0`.
fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return false;
        }
        rest = &rest[num_len..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod stage_names {
    use super::{is_valid_stage_name_by_chars, is_valid_stage_name_in_any_case};

    #[test]
    fn ascii_names_are_checked_as_characters_would_be() {
        let ascii: Vec<char> = (0u8..128).map(char::from).collect();
        for first in &ascii {
            for second in ['a', 'Z', '0', '-', '_', '.', '/', ' ', *first] {
                let name = format!("{first}{second}");
                assert_eq!(
                    is_valid_stage_name_in_any_case(&name),
                    is_valid_stage_name_by_chars(&name),
                    "{name:?}"
                );
            }
        }
        assert!(is_valid_stage_name_in_any_case("Build-2.x_y"));
        assert!(!is_valid_stage_name_in_any_case("2build"));
        assert!(!is_valid_stage_name_in_any_case(""));
        // The Kelvin sign lower-cases to `k`.
        assert!(is_valid_stage_name_in_any_case("\u{212a}ernel"));
    }
}
