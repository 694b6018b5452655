//! Progress while writing: a bar on a terminal, plain lines elsewhere, nothing with `--quiet`.
//!
//! On a terminal (standard error) an indicatif bar shows the count, the rate and the time left.
//! When standard error is a file or a pipe (CI, a log), a bar would be noise, so a plain line is
//! printed every [`LINE_INTERVAL`] instead. Messages printed while a bar is shown go through it,
//! so they do not tear it.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often a plain progress line is printed when standard error is not a terminal.
pub const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Progress of one phase (writing, deleting).
pub struct Progress {
    kind: Kind,
    label: &'static str,
    total: u64,
    done: u64,
    started: Instant,
}

enum Kind {
    Bar(ProgressBar),
    Lines { last: Instant },
    Quiet,
}

impl Progress {
    /// Progress towards `total` items, shown as `label` (e.g. "writing").
    pub fn new(label: &'static str, total: u64, quiet: bool) -> Self {
        let kind = if quiet {
            Kind::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {human_pos}/{human_len} {rate} ETA {eta} ({elapsed})",
            )
            .map(|s| {
                s.progress_chars("=> ").with_key(
                    "rate",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", state.per_sec());
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(label);
            bar.enable_steady_tick(Duration::from_millis(200));
            Kind::Bar(bar)
        } else {
            Kind::Lines {
                last: Instant::now(),
            }
        };
        Self {
            kind,
            label,
            total,
            done: 0,
            started: Instant::now(),
        }
    }

    /// `n` more items are done.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        match &mut self.kind {
            Kind::Bar(bar) => bar.inc(n),
            Kind::Lines { last } if last.elapsed() >= LINE_INTERVAL => {
                *last = Instant::now();
                let elapsed = self.started.elapsed().as_secs_f64();
                let rate = if elapsed > 0.0 {
                    self.done as f64 / elapsed
                } else {
                    0.0
                };
                let eta = if rate > 0.0 {
                    format!(
                        ", about {:.0} s left",
                        (self.total.saturating_sub(self.done)) as f64 / rate
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "{}: {}/{} ({rate:.0}/s{eta})",
                    self.label, self.done, self.total
                );
            }
            Kind::Lines { .. } | Kind::Quiet => {}
        }
    }

    /// Prints `message` on standard error without tearing the bar.
    pub fn println(&self, message: &str) {
        match &self.kind {
            Kind::Bar(bar) => bar.suspend(|| eprintln!("{message}")),
            Kind::Lines { .. } | Kind::Quiet => eprintln!("{message}"),
        }
    }

    /// Takes the bar off the screen.
    pub fn finish(self) {
        if let Kind::Bar(bar) = self.kind {
            bar.finish_and_clear();
        }
    }
}
