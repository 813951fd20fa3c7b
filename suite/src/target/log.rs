//! A target's log as errors quote it.

use std::fs;
use std::path::Path;

/// Lines of a log quoted in an error.
const LOG_TAIL_LINES: usize = 20;

// ------------------------------------------------------------------------------------------------
// Logs.

/// The last lines of a log, without terminal colours, indented for an error message.
pub(super) fn log_tail(path: &Path) -> String {
    let Ok(bytes) = fs::read(path) else {
        return format!("    (no output: {} is missing)", path.display());
    };
    let text = strip_ansi(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "    (no output)".to_string();
    }
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes ANSI escape sequences (`ESC [ ... final`), which emulators print for colour.
pub(super) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
