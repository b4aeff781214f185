//! The live view drawn on a small terminal emulator: what stays on the
//! screen once a build of several targets is over.

use std::io;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressDrawTarget, TermLike};

use super::{Event, ProgressMode, ProgressSink, Reporter};

/// Rows of text and a cursor; enough of a terminal for indicatif.
#[derive(Debug, Default)]
struct Screen {
    rows: Vec<String>,
    row: usize,
    column: usize,
}

impl Screen {
    fn row_mut(&mut self) -> &mut String {
        while self.rows.len() <= self.row {
            self.rows.push(String::new());
        }
        &mut self.rows[self.row]
    }

    fn write(&mut self, text: &str) {
        let column = self.column;
        let row = self.row_mut();
        let mut chars: Vec<char> = row.chars().collect();
        while chars.len() < column {
            chars.push(' ');
        }
        for (offset, c) in text.chars().enumerate() {
            match chars.get_mut(column + offset) {
                Some(slot) => *slot = c,
                None => chars.push(c),
            }
        }
        *row = chars.into_iter().collect();
        self.column += text.chars().count();
    }
}

#[derive(Debug, Clone, Default)]
struct Term(Arc<Mutex<Screen>>);

impl Term {
    fn with<T>(&self, f: impl FnOnce(&mut Screen) -> T) -> io::Result<T> {
        let mut screen = self
            .0
            .lock()
            .map_err(|_| io::Error::other("screen lock poisoned"))?;
        Ok(f(&mut screen))
    }
}

impl TermLike for Term {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.with(|s| s.row = s.row.saturating_sub(n))
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.with(|s| s.row += n)
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.with(|s| s.column += n)
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.with(|s| s.column = s.column.saturating_sub(n))
    }
    fn write_line(&self, line: &str) -> io::Result<()> {
        self.with(|s| {
            s.write(line);
            s.row += 1;
            s.column = 0;
        })
    }
    fn write_str(&self, text: &str) -> io::Result<()> {
        self.with(|s| s.write(text))
    }
    fn clear_line(&self) -> io::Result<()> {
        self.with(|s| {
            s.row_mut().clear();
            s.column = 0;
        })
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_targets_stage_lines_stay_on_screen() {
    let term = Term::default();
    let draw = term.clone();
    let print = term.clone();
    let mut reporter = Reporter::drawing_to(
        ProgressMode::Tty,
        Box::new(move || ProgressDrawTarget::term_like(Box::new(draw.clone()))),
        Box::new(move |line| {
            let _ = print.write_line(line);
        }),
    );
    let first = ["compile-first".to_owned()];
    let second = ["compile-second".to_owned()];
    for (target, stages) in [("one", &first), ("two", &second)] {
        reporter.event(Event::TargetStarted { target, stages });
        reporter.event(Event::Step {
            stage: &stages[0],
            index: 1,
            total: 1,
            text: "RUN make",
        });
        reporter.event(Event::StageDone {
            stage: &stages[0],
            cached: false,
        });
    }
    reporter.finish();
    let screen = term.with(|s| s.rows.join("\n")).expect("screen");
    assert!(screen.contains("compile-first"), "{screen}");
    assert!(screen.contains("compile-second"), "{screen}");
    let first_row = screen.lines().position(|l| l.contains("compile-first"));
    let second_row = screen.lines().position(|l| l.contains("compile-second"));
    assert!(first_row < second_row, "{screen}");
    assert!(screen.contains("building one"), "{screen}");
    assert!(screen.contains("building two"), "{screen}");
}
