//! Which rules run and how severe their findings are: `[lint]` in
//! stages.toml, `--skip` and `--error-on-warning` on the command line, and
//! in Dockerfiles BuildKit's `# check=skip=A,B;error=true` directive (at
//! the top of the file for all of it, or in the comment just before an
//! instruction for that instruction alone).

use super::rules;
use crate::diagnostics::{Diagnostic, Severity};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    /// `skip=all`.
    pub skip_all: bool,
    /// Rule names to skip.
    pub skip: Vec<String>,
    /// Findings are errors, not warnings.
    pub error: bool,
}

impl Controls {
    /// Reads BuildKit's `check` value: `skip=A,B|all;error=true|false`
    /// (`experimental=` is accepted and ignored: no rule here is
    /// experimental).
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut controls = Controls::default();
        let value = value.trim();
        if value.is_empty() {
            return Ok(controls);
        }
        for part in value.splitn(3, ';') {
            let Some((key, v)) = part.split_once('=') else {
                return Err(format!("invalid check option {part:?}"));
            };
            let v = v.trim();
            match key.trim() {
                "skip" if v == "all" => controls.skip_all = true,
                "skip" => controls.skip = v.split(',').map(|r| r.trim().to_owned()).collect(),
                "experimental" => {}
                "error" => {
                    controls.error = parse_bool(v)
                        .ok_or_else(|| format!("failed to parse check option {part:?}"))?;
                }
                other => return Err(format!("invalid check option {other:?}")),
            }
        }
        Ok(controls)
    }

    /// These controls with `other`'s skips added and, when `other` says so,
    /// its `error`.
    pub fn merged(&self, other: &Controls) -> Controls {
        let mut skip = self.skip.clone();
        skip.extend(other.skip.iter().cloned());
        Controls {
            skip_all: self.skip_all || other.skip_all,
            skip,
            error: self.error || other.error,
        }
    }

    pub fn skips(&self, rule: &str) -> bool {
        self.skip_all || self.skip.iter().any(|s| s == rule)
    }

    /// Names in `skip` that are no rule.
    pub fn unknown_rules(&self) -> Vec<&str> {
        self.skip
            .iter()
            .map(String::as_str)
            .filter(|s| rules::by_name(s).is_none())
            .collect()
    }

    /// Drops the skipped findings and raises the rest to errors when asked.
    pub fn apply(&self, findings: Vec<Diagnostic>) -> Vec<Diagnostic> {
        findings
            .into_iter()
            .filter(|d| rules::by_code(d.code).is_none_or(|r| !self.skips(r.name)))
            .map(|mut d| {
                if self.error && rules::by_code(d.code).is_some() {
                    d.severity = Severity::Error;
                }
                d
            })
            .collect()
    }
}

/// The controls `[lint]` of stages.toml sets.
pub fn project_controls(project: &crate::config::model::Project) -> Controls {
    let mut controls = Controls {
        error: project.lint.error,
        ..Controls::default()
    };
    for rule in &project.lint.skip {
        if rule.value == "all" {
            controls.skip_all = true;
        } else {
            controls.skip.push(rule.value.clone());
        }
    }
    controls
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The `check` value of a comment's text (without `#`) that is written as a
/// directive, up to the first space, as BuildKit reads it.
pub fn check_comment(comment: &str) -> Option<&str> {
    let (name, value) = comment.trim().split_once('=')?;
    let name = name.trim();
    if !name.eq_ignore_ascii_case("check") {
        return None;
    }
    let value = value.trim();
    Some(value.split(' ').next().unwrap_or(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_buildkit_check_values() {
        let c = Controls::parse("skip=JSONArgsRecommended, StageNameCasing;error=true").unwrap();
        assert_eq!(c.skip, ["JSONArgsRecommended", "StageNameCasing"]);
        assert!(c.error && !c.skip_all);
        assert!(Controls::parse("skip=all").unwrap().skip_all);
        assert!(Controls::parse("error=maybe").is_err());
        assert!(Controls::parse("skp=x").is_err());
        assert_eq!(
            check_comment(" check=skip=A;error=true trailing"),
            Some("skip=A;error=true")
        );
        assert_eq!(check_comment("just a comment"), None);
    }
}
