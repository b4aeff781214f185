//! Typed instructions, BuildKit's second layer: each [`Node`] becomes an
//! [`Instruction`] with checked flags and arguments, and instructions are
//! grouped into [`Stage`]s after meta-ARGs (see `stages`).
//!
//! Every type has public fields so other layers can build instructions in
//! code and print them. The exact text of each argument is kept, so that
//! printing and reading again gives back the same instructions.

mod flags;
mod mount;
mod parse;

pub use flags::{Flag, FlagKind, FlagSpec};
pub use mount::{Mount, MountType, parse_mount};
pub use parse::parse_instruction;

use std::borrow::Cow;

use super::syntax::{Heredoc, Node};
use crate::located::Span;

/// One instruction with what it was written with. Equality looks at what
/// the instruction means and says (flags, arguments, comments), not at the
/// keyword's case or where it was written.
#[derive(Debug, Clone, Eq)]
pub struct Instruction {
    /// The keyword as written (`run`, `Run`, `RUN`); empty means upper case.
    pub keyword: Cow<'static, str>,
    /// Flags in the order written. This is what the printer prints;
    /// [`Instruction::new`] derives it from the typed fields.
    pub flags: Vec<Flag>,
    pub command: Command,
    /// Comment lines just before the instruction, without `#`.
    pub comments: Vec<String>,
    pub span: Span,
    /// 1-based; 0 for instructions made in code.
    pub start_line: usize,
    pub end_line: usize,
}

impl PartialEq for Instruction {
    fn eq(&self, other: &Self) -> bool {
        self.flags == other.flags
            && self.command == other.command
            && self.comments == other.comments
    }
}

impl Instruction {
    /// An instruction made in code: upper-case keyword, flags derived from
    /// the typed fields, no comments, no place in a file.
    pub fn new(command: Command) -> Self {
        let flags = command.canonical_flags();
        Self {
            keyword: Cow::Borrowed(""),
            flags,
            command,
            comments: Vec::new(),
            span: Span::default(),
            start_line: 0,
            end_line: 0,
        }
    }

    pub fn with_comments(mut self, comments: Vec<String>) -> Self {
        self.comments = comments;
        self
    }

    /// The keyword in upper case (`RUN`).
    pub fn name(&self) -> &'static str {
        self.command.name()
    }

    /// The keyword as written, or the upper-case name for code-made ones.
    pub fn keyword_as_written(&self) -> &str {
        if self.keyword.is_empty() {
            self.command.name()
        } else {
            &self.keyword
        }
    }
}

/// What an instruction does, with its typed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    From(From),
    Run(Run),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    /// Always the JSON form.
    Shell(Vec<String>),
    Copy(Copy),
    Add(Add),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Volume(Volume),
    Healthcheck(Healthcheck),
    StopSignal(String),
    Onbuild(Onbuild),
    Maintainer(String),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::From(_) => "FROM",
            Command::Run(_) => "RUN",
            Command::Cmd(_) => "CMD",
            Command::Entrypoint(_) => "ENTRYPOINT",
            Command::Shell(_) => "SHELL",
            Command::Copy(_) => "COPY",
            Command::Add(_) => "ADD",
            Command::Env(_) => "ENV",
            Command::Label(_) => "LABEL",
            Command::Arg(_) => "ARG",
            Command::Workdir(_) => "WORKDIR",
            Command::User(_) => "USER",
            Command::Expose(_) => "EXPOSE",
            Command::Volume(_) => "VOLUME",
            Command::Healthcheck(_) => "HEALTHCHECK",
            Command::StopSignal(_) => "STOPSIGNAL",
            Command::Onbuild(_) => "ONBUILD",
            Command::Maintainer(_) => "MAINTAINER",
        }
    }

    /// Flags that express the typed fields, in a fixed order.
    pub fn canonical_flags(&self) -> Vec<Flag> {
        let mut flags = Vec::new();
        fn opt(flags: &mut Vec<Flag>, name: &str, v: &Option<String>) {
            if let Some(v) = v {
                flags.push(Flag::with_value(name, v));
            }
        }
        match self {
            Command::From(f) => opt(&mut flags, "platform", &f.platform),
            Command::Run(r) => {
                for m in &r.mounts {
                    flags.push(Flag::with_value("mount", &m.to_flag_value()));
                }
                opt(&mut flags, "network", &r.network);
                opt(&mut flags, "security", &r.security);
                for d in &r.devices {
                    flags.push(Flag::with_value("device", d));
                }
            }
            Command::Copy(c) => {
                opt(&mut flags, "from", &c.from);
                opt(&mut flags, "chown", &c.chown);
                opt(&mut flags, "chmod", &c.chmod);
                if c.link {
                    flags.push(Flag::bare("link"));
                }
                if c.parents {
                    flags.push(Flag::bare("parents"));
                }
                for e in &c.exclude {
                    flags.push(Flag::with_value("exclude", e));
                }
            }
            Command::Add(a) => {
                opt(&mut flags, "chown", &a.chown);
                opt(&mut flags, "chmod", &a.chmod);
                opt(&mut flags, "checksum", &a.checksum);
                if a.link {
                    flags.push(Flag::bare("link"));
                }
                if a.keep_git_dir {
                    flags.push(Flag::bare("keep-git-dir"));
                }
                if let Some(unpack) = a.unpack {
                    flags.push(Flag::with_value("unpack", &unpack.to_string()));
                }
                for e in &a.exclude {
                    flags.push(Flag::with_value("exclude", e));
                }
            }
            Command::Healthcheck(Healthcheck::Cmd(h)) => {
                opt(&mut flags, "interval", &h.interval);
                opt(&mut flags, "timeout", &h.timeout);
                opt(&mut flags, "start-period", &h.start_period);
                opt(&mut flags, "start-interval", &h.start_interval);
                opt(&mut flags, "retries", &h.retries);
            }
            _ => {}
        }
        flags
    }
}

/// `FROM [--platform=…] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct From {
    pub image: String,
    pub platform: Option<String>,
    pub alias: Option<StageAlias>,
}

/// The `AS name` of a FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageAlias {
    /// `AS` as written (`as`, `AS`).
    pub as_keyword: String,
    /// The name as written; stage names compare lower-cased.
    pub name: String,
}

/// The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// Exec form: the JSON elements. Shell form: one element, the line.
    pub args: Vec<String>,
    /// Exec (JSON array) form.
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
}

impl CommandLine {
    /// A shell-form command.
    pub fn shell(line: impl Into<String>) -> Self {
        Self {
            args: vec![line.into()],
            json: false,
            heredocs: Vec::new(),
        }
    }

    /// An exec-form command.
    pub fn exec(args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            json: true,
            heredocs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run {
    pub command: CommandLine,
    pub mounts: Vec<Mount>,
    pub network: Option<String>,
    pub security: Option<String>,
    pub devices: Vec<String>,
}

/// Sources and destination of COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Paths {
    /// As written, heredoc markers (`<<EOF`) included.
    pub sources: Vec<String>,
    pub dest: String,
    /// Written as a JSON array.
    pub json: bool,
    /// Bodies of heredoc sources.
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copy {
    pub paths: Paths,
    /// `--from`: a stage name, index or image.
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Add {
    pub paths: Paths,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub checksum: Option<String>,
    pub link: bool,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
    pub exclude: Vec<String>,
}

/// One ENV or LABEL pair; the value keeps its quotes, as BuildKit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the legacy `ENV key value` form.
    pub legacy: bool,
}

/// One ARG name with its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

impl ArgDecl {
    /// `NAME` or `NAME=default`, as BuildKit lists meta-ARGs.
    pub fn to_text(&self) -> String {
        match &self.default {
            Some(d) => format!("{}={d}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Volume {
    pub paths: Vec<String>,
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`; the word as written.
    None(String),
    Cmd(HealthcheckCmd),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthcheckCmd {
    /// `CMD` as written.
    pub cmd_keyword: String,
    pub command: CommandLine,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

/// `ONBUILD <instruction>`: BuildKit keeps the trigger as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Onbuild {
    /// The trigger as written, heredoc bodies appended (BuildKit's `Expression`).
    pub expression: String,
    /// The trigger's syntax node, when read from a file.
    pub trigger: Option<Node<'static>>,
}
