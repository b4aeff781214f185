//! The report as one self-contained HTML page: a timeline (Gantt) of the
//! stages and their steps drawn as inline SVG, the critical path in its
//! own colour, and the summary tables. No script, font or style is
//! fetched; the report's JSON rides along in a data block for tools.

use std::fmt::Write;

use super::model::{BuildReport, StageReport};
use super::text::{duration, size, stage_state};

/// Marks a page as a report of `stages` (see `file::is_own_report`).
pub const GENERATOR_META: &str = r#"<meta name="generator" content="stages build report">"#;

const LABEL_WIDTH: f64 = 220.0;
const PLOT_WIDTH: f64 = 820.0;
const STAGE_ROW: f64 = 26.0;
const STEP_ROW: f64 = 16.0;
const AXIS: f64 = 28.0;

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #59636e; margin-bottom: 16px; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
svg .step-label { fill: #59636e; font-size: 11px; }
svg .axis line { stroke: #d1d9e0; }
svg .axis text { fill: #59636e; font-size: 11px; }
rect.stage { fill: #4c78a8; }
rect.stage.cached { fill: #9ecae9; }
rect.stage.critical { fill: #e4572e; }
rect.stage.critical.cached { fill: #f4a582; }
rect.step { fill: #72b7b2; }
rect.step.cached { fill: #c7c7c7; }
rect.step.critical { stroke: #e4572e; stroke-width: 1.5; }
text.critical { font-weight: bold; fill: #b8321a; }
table { border-collapse: collapse; margin: 12px 0 20px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #d1d9e0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.critical td:first-child { color: #b8321a; font-weight: bold; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin-right: 4px; }
";

pub fn render(report: &BuildReport) -> String {
    let mut page = String::new();
    let title = format!(
        "stages build report: {}",
        report
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{GENERATOR_META}\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let verb = if report.finished {
        "finished in"
    } else {
        "stopped after"
    };
    let _ = write!(
        page,
        "<h1>{}</h1>\n<div class=\"meta\">started {} · {} back end · build {verb} {} · step times {}</div>\n",
        escape(&title),
        escape(&report.started),
        escape(&report.backend),
        duration(report.wall_seconds),
        if report.timing == "builder" {
            "measured by the builder"
        } else {
            "as observed"
        }
    );
    page.push_str(&legend());
    page.push_str(&gantt(report));
    page.push_str(&facts(report));
    page.push_str(&stage_table(report));
    page.push_str(&target_table(report));
    let data = serde_json::to_string(report).unwrap_or_default();
    // `</` cannot end the data block early once written as `<\/`.
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"report-data\">{}</script>\n</body>\n</html>\n",
        data.replace("</", "<\\/")
    );
    page
}

fn legend() -> String {
    let swatch = |colour: &str, text: &str| {
        format!("<span><i class=\"swatch\" style=\"background:{colour}\"></i>{text}</span>")
    };
    format!(
        "<div class=\"legend\">{}{}{}{}{}</div>\n",
        swatch("#e4572e", "critical path"),
        swatch("#4c78a8", "stage built"),
        swatch("#9ecae9", "stage from the cache"),
        swatch("#72b7b2", "step ran"),
        swatch("#c7c7c7", "step from the cache"),
    )
}

/// One row per stage, its steps in thinner rows under it.
fn gantt(report: &BuildReport) -> String {
    let total = report
        .stages
        .iter()
        .map(|s| s.end)
        .fold(report.wall_seconds, f64::max)
        .max(0.001);
    let x = |t: f64| LABEL_WIDTH + (t / total) * PLOT_WIDTH;
    let width = |start: f64, end: f64| ((end - start) / total * PLOT_WIDTH).max(1.0);
    let rows: usize = report.stages.iter().map(|s| s.steps.len()).sum();
    let height = AXIS + report.stages.len() as f64 * STAGE_ROW + rows as f64 * STEP_ROW + 8.0;
    let mut svg = format!(
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"timeline of the build\">\n",
        LABEL_WIDTH + PLOT_WIDTH + 20.0
    );
    svg.push_str("<g class=\"axis\">");
    let tick = tick_step(total);
    let mut t = 0.0;
    while t <= total + 1e-9 {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{height}\"/><text x=\"{0:.1}\" y=\"14\" text-anchor=\"middle\">{2}</text>",
            x(t),
            AXIS - 8.0,
            duration(t)
        );
        t += tick;
    }
    svg.push_str("</g>\n");
    let mut y = AXIS;
    for stage in &report.stages {
        let classes = stage_classes(stage);
        let _ = write!(
            svg,
            "<g class=\"stage-row\" data-stage=\"{}\" data-critical=\"{}\">",
            escape(&stage.name),
            stage.critical
        );
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.1}\"{}>{}{}</text>",
            y + 17.0,
            if stage.critical {
                " class=\"critical\""
            } else {
                ""
            },
            if stage.critical { "◆ " } else { "" },
            escape(&clip(&stage.name, 26))
        );
        let _ = write!(
            svg,
            "<rect class=\"{classes}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"20\" rx=\"3\"><title>{} {}{}</title></rect>",
            x(stage.start),
            y + 3.0,
            width(stage.start, stage.end),
            escape(&stage.name),
            duration(stage.seconds),
            if stage.cached { " (cached)" } else { "" }
        );
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x(stage.end) + 4.0,
            y + 17.0,
            duration(stage.seconds)
        );
        y += STAGE_ROW;
        for step in &stage.steps {
            let mut step_classes = String::from("bar step");
            if step.cached {
                step_classes.push_str(" cached");
            }
            if stage.critical {
                step_classes.push_str(" critical");
            }
            let _ = write!(
                svg,
                "<text class=\"step-label\" x=\"16\" y=\"{:.1}\">{}</text><rect class=\"{step_classes}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"11\" rx=\"2\"><title>{} · {}{}</title></rect>",
                y + 11.0,
                escape(&clip(&step.text, 30)),
                x(step.start),
                y + 2.0,
                width(step.start, step.end),
                escape(&step.text),
                duration(step.seconds),
                if step.cached { " (cached)" } else { "" }
            );
            y += STEP_ROW;
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

fn stage_classes(stage: &StageReport) -> String {
    let mut classes = String::from("bar stage");
    if stage.cached {
        classes.push_str(" cached");
    }
    if stage.critical {
        classes.push_str(" critical");
    }
    classes
}

/// 1, 2 or 5 times a power of ten, for about eight ticks.
fn tick_step(total: f64) -> f64 {
    let rough = total / 8.0;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(power * 10.0)
}

fn facts(report: &BuildReport) -> String {
    let mut items = vec![format!(
        "<li id=\"critical-path\">critical path: <b>{}</b> ({} of {} of stages)</li>",
        escape(&report.critical_path.join(" → ")),
        duration(report.critical_path_seconds),
        duration(report.stages_seconds)
    )];
    if let Some(parallelism) = report.parallelism {
        items.push(format!(
            "<li>parallelism {parallelism:.2}× (busy {} over {})</li>",
            duration(report.busy_seconds),
            duration(report.stages_seconds)
        ));
    }
    if let Some(ratio) = report.cache.ratio {
        items.push(format!(
            "<li>cache hits {}/{} steps ({:.0}%)</li>",
            report.cache.cached,
            report.cache.steps,
            ratio * 100.0
        ));
    }
    if let Some(bytes) = report.bytes_sent {
        items.push(format!("<li>sent {} to the Engine</li>", size(bytes)));
    }
    format!("<ul class=\"facts\">{}</ul>\n", items.join(""))
}

fn stage_table(report: &BuildReport) -> String {
    let mut table = String::from(
        "<table id=\"stages\"><thead><tr><th>stage</th><th>start</th><th>time</th><th>cache</th><th>steps</th><th>size</th></tr></thead><tbody>",
    );
    for stage in &report.stages {
        let cached_steps = stage.steps.iter().filter(|s| s.cached).count();
        let _ = write!(
            table,
            "<tr class=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}/{} cached</td><td class=\"num\">{}</td></tr>",
            if stage.critical { "critical" } else { "" },
            escape(&stage.name),
            duration(stage.start),
            duration(stage.seconds),
            stage_state(stage),
            cached_steps,
            stage.steps.len(),
            stage.size.map(size).unwrap_or_default()
        );
    }
    table.push_str("</tbody></table>\n");
    table
}

fn target_table(report: &BuildReport) -> String {
    let mut table = String::from(
        "<table id=\"targets\"><thead><tr><th>target</th><th>state</th><th>image</th><th>size</th><th>copies from</th></tr></thead><tbody>",
    );
    for target in &report.targets {
        let from: Vec<String> = target
            .copies_from
            .iter()
            .map(|f| match f.size {
                Some(bytes) => format!("{} ({})", escape(&f.stage), size(bytes)),
                None => escape(&f.stage),
            })
            .collect();
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&target.name),
            escape(&target.state),
            escape(target.image.as_deref().unwrap_or("")),
            target.size.map(size).unwrap_or_default(),
            from.join(", ")
        );
    }
    table.push_str("</tbody></table>\n");
    table
}

fn clip(text: &str, chars: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > chars {
        let cut: String = line.chars().take(chars - 1).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(tick_step(8.0), 1.0));
        assert!(close(tick_step(14.0), 2.0));
        assert!(close(tick_step(0.3), 0.05));
        assert!(close(tick_step(300.0), 50.0));
    }

    #[test]
    fn text_from_the_build_is_escaped() {
        assert_eq!(
            escape("RUN a<b && 'c' \"d\""),
            "RUN a&lt;b &amp;&amp; &#39;c&#39; &quot;d&quot;"
        );
        assert_eq!(clip("RUN make\nsecond line", 30), "RUN make");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
