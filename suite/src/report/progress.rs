//! The progress bar of `cogcheck run`: one tick per finished scenario, failures printed above
//! the bar as they happen so a long run shows its problems early.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::Event;

/// Renders events as a progress bar on stderr (hidden when stderr is not a terminal).
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress reporter; `enabled: false` prints nothing.
    pub fn new(enabled: bool) -> Progress {
        Progress {
            bar: enabled.then(ProgressBar::hidden),
        }
    }

    /// Consumes one event.
    pub fn event(&mut self, event: &Event) {
        let Some(bar) = &self.bar else { return };
        match event {
            Event::RunStarted { total } => {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.set_length(*total as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            Event::ScenarioStarted { name } => bar.set_message(name.clone()),
            Event::ScenarioFinished { result, judgement } => {
                if judgement.verdict.is_failure() {
                    bar.println(format!(
                        "{:<16} {}",
                        judgement.verdict.name().to_uppercase(),
                        result.name
                    ));
                }
                bar.inc(1);
            }
            Event::RunFinished => bar.finish_and_clear(),
        }
    }
}
