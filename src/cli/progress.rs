//! Progress of long operations: a self-overwriting status line when stderr
//! is a terminal, a log line every few seconds otherwise (files and CI logs
//! must not fill with carriage returns).
//!
//! Hand-written rather than `indicatif`: one line of rows, rate and ETA is
//! all `load` and `demo` need, and it keeps the dependency tree small.

use super::group_digits;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraws of the terminal line at most this often.
const TERMINAL_EVERY: Duration = Duration::from_millis(100);
/// Log lines at most this often when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// A progress reporter for one operation.
pub struct Progress {
    what: &'static str,
    terminal: bool,
    start: Instant,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// A reporter for `what` ("loading", "generating").
    pub fn new(what: &'static str) -> Progress {
        Progress {
            what,
            terminal: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: None,
            drawn: false,
        }
    }

    /// Reports `rows` done; `fraction` is the share of the work done, if known
    /// (bytes read of the file size, rows of the total), for the ETA.
    pub fn update(&mut self, rows: u64, fraction: Option<f64>) {
        let now = Instant::now();
        let every = if self.terminal {
            TERMINAL_EVERY
        } else {
            LOG_EVERY
        };
        if self.last.is_some_and(|t| now.duration_since(t) < every) {
            return;
        }
        if self.last.is_none() && !self.terminal {
            // The first log line only after the first interval.
            self.last = Some(now);
            return;
        }
        self.last = Some(now);
        let secs = now.duration_since(self.start).as_secs_f64().max(1e-3);
        let rate = (rows as f64 / secs) as u64;
        let mut line = format!(
            "{} {} rows, {} rows/s",
            self.what,
            group_digits(rows),
            group_digits(rate)
        );
        if let Some(f) = fraction.filter(|f| *f > 0.0 && *f <= 1.0) {
            let eta = secs * (1.0 - f) / f;
            line.push_str(&format!(", {:.0}%, ETA {}", f * 100.0, format_secs(eta)));
        }
        if self.terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
            self.drawn = true;
        } else {
            tracing::info!("{line}");
        }
    }

    /// Clears the terminal line (the caller then prints its summary).
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    /// Time since the reporter was created.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `75` → "1m15s", `9.2` → "9s".
fn format_secs(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::format_secs;

    #[test]
    fn eta_is_minutes_and_seconds() {
        assert_eq!(format_secs(9.2), "9s");
        assert_eq!(format_secs(75.0), "1m15s");
    }
}
