//! The live line under a long task on a terminal: `[3/10 hosts done] NAME
//! (12s)`, shown on stderr once a task has run for a second, cleared
//! before any output line is printed and when the task ends.
//!
//! Only the human reporter uses it, and only when stdout is a terminal and
//! `NO_COLOR` is unset. Every bar of the process (this spinner, the
//! `image_upload` transfer bar) lives in one [`MultiProgress`], so they
//! stack instead of overwriting each other, and the reporter prints
//! through [`bars`]`().suspend`. Not for the printing itself: that is
//! `human.rs`.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Progress;

/// A task shows its line only after running this long.
const QUIET_FOR: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);

/// The process's bars. Drawn on stderr, and hidden by indicatif itself
/// when stderr is not a terminal.
pub fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// One task in progress (several at once with `strategy: free`).
#[derive(Debug)]
struct Running {
    key: String,
    name: String,
    total: usize,
    done: usize,
    since: Instant,
}

/// The counters behind the line; no terminal involved.
#[derive(Debug, Default)]
struct Board {
    tasks: Vec<Running>,
}

impl Board {
    fn apply(&mut self, key: &str, name: &str, event: Progress, now: Instant) {
        let at = self.tasks.iter().position(|t| t.key == key);
        match (event, at) {
            (Progress::Started { hosts }, Some(i)) => self.tasks[i].total += hosts,
            (Progress::Started { hosts }, None) => self.tasks.push(Running {
                key: key.to_string(),
                name: name.to_string(),
                total: hosts,
                done: 0,
                since: now,
            }),
            (Progress::HostDone, Some(i)) => self.tasks[i].done += 1,
            // With the free strategy each host ends its own run of a task.
            (Progress::Ended { hosts }, Some(i)) => {
                let t = &mut self.tasks[i];
                t.total = t.total.saturating_sub(hosts);
                t.done = t.done.saturating_sub(hosts);
                if t.total == 0 {
                    self.tasks.remove(i);
                }
            }
            (Progress::HostDone | Progress::Ended { .. }, None) => {}
        }
    }

    /// The line to show now, if a task has been running long enough.
    fn label(&self, now: Instant) -> Option<String> {
        let long: Vec<&Running> = self
            .tasks
            .iter()
            .filter(|t| t.done < t.total && now.duration_since(t.since) >= QUIET_FOR)
            .collect();
        let t = long.first()?;
        let secs = now.duration_since(t.since).as_secs();
        let mut text = format!("[{}/{} hosts done] {} ({secs}s)", t.done, t.total, t.name);
        match long.len() - 1 {
            0 => {}
            1 => text.push_str(" and 1 more task"),
            n => text.push_str(&format!(" and {n} more tasks")),
        }
        Some(text)
    }
}

#[derive(Default)]
struct State {
    board: Board,
    bar: Option<ProgressBar>,
}

impl State {
    /// Shows, updates or clears the line to match the board.
    fn refresh(&mut self, now: Instant) {
        match (self.board.label(now), &self.bar) {
            (Some(label), Some(bar)) => bar.set_message(label),
            (Some(label), None) => {
                let bar = bars().add(ProgressBar::new_spinner());
                if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg}") {
                    bar.set_style(style);
                }
                bar.set_message(label);
                bar.enable_steady_tick(TICK);
                self.bar = Some(bar);
            }
            (None, Some(_)) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                    bars().remove(&bar);
                }
            }
            (None, None) => {}
        }
    }
}

/// The spinner of one run. A thread updates the line while tasks run; it
/// stops when the spinner is dropped.
pub struct Spinner {
    state: Arc<Mutex<State>>,
}

impl Spinner {
    /// Starts the thread that redraws the line; nothing is shown until a
    /// task has run for a second.
    pub fn new() -> Spinner {
        let state = Arc::new(Mutex::new(State::default()));
        let weak = Arc::downgrade(&state);
        // Without the thread a task would show nothing until its first
        // host finishes; with it the line appears after QUIET_FOR.
        let _ = std::thread::Builder::new()
            .name("oplay-spinner".into())
            .spawn(move || tick(weak));
        Spinner { state }
    }

    /// Records a task's progress; the line is cleared at once when the
    /// last task ends.
    pub fn update(&self, key: &str, name: &str, event: Progress) {
        if let Ok(mut s) = self.state.lock() {
            let now = Instant::now();
            s.board.apply(key, name, event, now);
            s.refresh(now);
        }
    }
}

impl Default for Spinner {
    fn default() -> Self {
        Spinner::new()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Ok(mut s) = self.state.lock() {
            s.board.tasks.clear();
            s.refresh(Instant::now());
        }
    }
}

fn tick(state: Weak<Mutex<State>>) {
    loop {
        std::thread::sleep(TICK);
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Ok(mut s) = state.lock() {
            s.refresh(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_shows_only_after_a_second_and_counts_hosts() {
        let t0 = Instant::now();
        let mut b = Board::default();
        b.apply("a.yml:3:7", "install", Progress::Started { hosts: 10 }, t0);
        assert_eq!(b.label(t0 + Duration::from_millis(900)), None);
        for _ in 0..3 {
            b.apply("a.yml:3:7", "install", Progress::HostDone, t0);
        }
        assert_eq!(
            b.label(t0 + Duration::from_secs(12)).as_deref(),
            Some("[3/10 hosts done] install (12s)")
        );
        b.apply("a.yml:3:7", "install", Progress::Ended { hosts: 10 }, t0);
        assert!(b.tasks.is_empty());
        assert_eq!(b.label(t0 + Duration::from_secs(13)), None);
    }

    #[test]
    fn all_hosts_done_hides_the_line_before_the_task_ends() {
        let t0 = Instant::now();
        let mut b = Board::default();
        b.apply("k", "t", Progress::Started { hosts: 1 }, t0);
        b.apply("k", "t", Progress::HostDone, t0);
        assert_eq!(b.label(t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn free_strategy_runs_add_up_per_task() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(2);
        let mut b = Board::default();
        for _ in 0..3 {
            b.apply("k", "slow", Progress::Started { hosts: 1 }, t0);
        }
        b.apply("k", "slow", Progress::HostDone, t0);
        b.apply("k", "slow", Progress::Ended { hosts: 1 }, t0);
        b.apply("j", "other", Progress::Started { hosts: 1 }, t0);
        assert_eq!(
            b.label(later).as_deref(),
            Some("[0/2 hosts done] slow (2s) and 1 more task")
        );
        // Events for a task never started are ignored.
        b.apply("x", "x", Progress::HostDone, t0);
        assert_eq!(b.tasks.len(), 2);
    }
}
