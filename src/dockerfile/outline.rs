//! A summary of a program's stages: names, bases, platforms, what each
//! copies from, meta-ARGs, and the stages a target needs.

use serde::Serialize;

use super::instructions::Command;
use super::stages::Program;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outline {
    pub meta_args: Vec<String>,
    pub stages: Vec<StageOutline>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetOutline>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageOutline {
    pub index: usize,
    pub name: Option<String>,
    pub base: String,
    /// The index of the stage the base names, when it names one.
    pub base_stage: Option<usize>,
    pub platform: Option<String>,
    /// `COPY --from` values, in order.
    pub copies_from: Vec<String>,
    /// `RUN --mount from=` values, in order.
    pub mounts_from: Vec<String>,
    /// Stages this one uses directly.
    pub depends_on: Vec<usize>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetOutline {
    pub name: String,
    pub index: usize,
    /// Every stage building the target needs, itself included, in file order.
    pub needs: Vec<usize>,
}

/// Summarises `program`; `target` must be a valid stage index.
pub fn outline(program: &Program, target: Option<usize>) -> Outline {
    let meta_args = program
        .meta_args
        .iter()
        .flat_map(|i| match &i.command {
            Command::Arg(decls) => decls.iter().map(|d| d.to_text()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let stages = program
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| StageOutline {
            index,
            name: stage.name(),
            base: stage.base().to_string(),
            base_stage: program.base_stage(index),
            platform: stage.platform().map(str::to_string),
            copies_from: stage.copy_from().into_iter().map(str::to_string).collect(),
            mounts_from: stage.mount_from().into_iter().map(str::to_string).collect(),
            depends_on: program.dependencies(index),
            line: stage.from.start_line,
        })
        .collect();
    let target = target.map(|index| TargetOutline {
        name: program.stages[index]
            .name()
            .unwrap_or_else(|| index.to_string()),
        index,
        needs: program.closure(index),
    });
    Outline {
        meta_args,
        stages,
        target,
    }
}

impl Outline {
    fn label(&self, index: usize) -> String {
        self.stages
            .get(index)
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| format!("#{index}"))
    }

    /// A human-readable listing.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.meta_args.is_empty() {
            out.push_str(&format!("meta-ARGs: {}\n", self.meta_args.join(", ")));
        }
        for s in &self.stages {
            out.push_str(&format!("stage {} {}", s.index, self.label(s.index)));
            out.push_str(&format!(" FROM {}", s.base));
            if let Some(base) = s.base_stage.filter(|_| s.base.contains('$')) {
                out.push_str(&format!(" (stage {})", self.label(base)));
            }
            if let Some(p) = &s.platform {
                out.push_str(&format!(" (platform {p})"));
            }
            out.push_str(&format!("  [line {}]\n", s.line));
            if !s.copies_from.is_empty() {
                out.push_str(&format!("  copies from: {}\n", s.copies_from.join(", ")));
            }
            if !s.mounts_from.is_empty() {
                out.push_str(&format!("  mounts from: {}\n", s.mounts_from.join(", ")));
            }
        }
        if let Some(t) = &self.target {
            let needs: Vec<String> = t.needs.iter().map(|i| self.label(*i)).collect();
            out.push_str(&format!("target {} needs: {}\n", t.name, needs.join(", ")));
        }
        out
    }
}
