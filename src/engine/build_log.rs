//! Reading the classic builder's output stream: text arrives in chunks that
//! may hold several lines or part of one; each full line is one of the
//! builder's own markers (`Step N/M : …`, `---> Running in <id>`, …) or
//! output of the step that runs.

/// One line of classic-builder output, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    /// `Step N/M : INSTRUCTION …` (1-based index).
    Step {
        index: usize,
        total: usize,
        text: String,
    },
    /// ` ---> Running in <id>`: a container the builder created.
    RunningIn(String),
    /// `Removing intermediate container <id>`.
    Removed(String),
    /// ` ---> Using cache`.
    UsingCache,
    /// ` ---> <id>`: the image a step produced.
    Layer(String),
    /// `Successfully built <id>`.
    Built(String),
    /// Anything else: output of the running step, or builder notes.
    Output(String),
}

impl LogLine {
    pub fn classify(line: &str) -> Self {
        let plain = strip_ansi(line);
        let trimmed = plain.trim_end();
        if let Some(rest) = trimmed.strip_prefix("Step ")
            && let Some((counts, text)) = rest.split_once(" : ")
            && let Some((index, total)) = counts.split_once('/')
            && let (Ok(index), Ok(total)) = (index.parse(), total.parse())
        {
            return LogLine::Step {
                index,
                total,
                text: text.to_owned(),
            };
        }
        if let Some(marker) = trimmed.trim_start().strip_prefix("---> ") {
            let marker = marker.trim();
            if let Some(id) = marker.strip_prefix("Running in ") {
                return LogLine::RunningIn(id.trim().to_owned());
            }
            if marker == "Using cache" {
                return LogLine::UsingCache;
            }
            if !marker.is_empty() && marker.chars().all(|c| c.is_ascii_hexdigit()) {
                return LogLine::Layer(marker.to_owned());
            }
        }
        if let Some(id) = trimmed.strip_prefix("Removing intermediate container ") {
            return LogLine::Removed(id.trim().to_owned());
        }
        if let Some(id) = trimmed.strip_prefix("Successfully built ") {
            return LogLine::Built(id.trim().to_owned());
        }
        LogLine::Output(trimmed.to_owned())
    }
}

/// The line without terminal escape sequences (the builder colours a
/// step's standard error).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for next in chars.by_ref() {
                if ('@'..='~').contains(&next) {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Joins stream chunks into whole lines.
#[derive(Debug, Default)]
pub struct LineBuffer {
    partial: String,
}

impl LineBuffer {
    /// Adds a chunk; returns the lines it completed.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            lines.push(line.trim_end_matches(['\n', '\r']).to_owned());
        }
        lines
    }

    /// The last, unterminated line, if any.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.partial);
        (!rest.is_empty()).then_some(rest)
    }
}

/// The exit code in the classic builder's error for a failed RUN:
/// "The command '…' returned a non-zero code: 3".
pub fn exit_code(message: &str) -> Option<i64> {
    // The classic builder's wording, then BuildKit's ("executor failed
    // running [...]: exit code: 3").
    let (_, code) = message
        .rsplit_once("returned a non-zero code:")
        .or_else(|| message.rsplit_once("exit code:"))?;
    code.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_recognised() {
        assert_eq!(
            LogLine::classify("Step 3/7 : RUN make all"),
            LogLine::Step {
                index: 3,
                total: 7,
                text: "RUN make all".into()
            }
        );
        assert_eq!(
            LogLine::classify(" ---> Running in 5f2c0a1b9e3d"),
            LogLine::RunningIn("5f2c0a1b9e3d".into())
        );
        assert_eq!(LogLine::classify(" ---> Using cache"), LogLine::UsingCache);
        assert_eq!(
            LogLine::classify(" ---> 0a1b2c3d4e5f"),
            LogLine::Layer("0a1b2c3d4e5f".into())
        );
        assert_eq!(
            LogLine::classify("Removing intermediate container 5f2c0a1b9e3d"),
            LogLine::Removed("5f2c0a1b9e3d".into())
        );
        assert_eq!(
            LogLine::classify("Successfully built 0a1b2c3d4e5f"),
            LogLine::Built("0a1b2c3d4e5f".into())
        );
        assert_eq!(
            LogLine::classify("Step one"),
            LogLine::Output("Step one".into())
        );
        assert_eq!(
            LogLine::classify("compiling…"),
            LogLine::Output("compiling…".into())
        );
    }

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            LogLine::classify("\u{1b}[0mRemoving intermediate container 7b238e827ccb"),
            LogLine::Removed("7b238e827ccb".into())
        );
        assert_eq!(
            LogLine::classify("\u{1b}[91mline two"),
            LogLine::Output("line two".into())
        );
    }

    #[test]
    fn chunks_become_lines() {
        let mut buffer = LineBuffer::default();
        assert_eq!(
            buffer.push("Step 1/2 : FROM x\n ---> ab"),
            vec!["Step 1/2 : FROM x"]
        );
        assert_eq!(buffer.push("c\nout\r\n"), vec![" ---> abc", "out"]);
        assert_eq!(buffer.push("tail"), Vec::<String>::new());
        assert_eq!(buffer.finish(), Some("tail".into()));
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn exit_codes_are_read_from_the_error() {
        assert_eq!(
            exit_code("The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
            Some(3)
        );
        assert_eq!(exit_code("pull access denied"), None);
    }
}
