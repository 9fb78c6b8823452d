//! Where output goes and what it looks like: results on stdout (an aligned
//! table or `--json`), notices and errors on stderr.
//!
//! Writes never panic (a closed pipe, as in `patchbay provider list | head`,
//! becomes an error, not a crash), and text that came from the config file is
//! stripped of control characters before it reaches a terminal, because a
//! hand-edited label could otherwise carry escape sequences.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::{CliError, ErrorEnvelope};

/// The chosen output mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn is_json(self) -> bool {
        self.json
    }

    /// Pretty JSON and a newline on stdout.
    pub(crate) fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|error| CliError::Output(io::Error::other(error)))?;
        self.text(&text)
    }

    /// Text on stdout, followed by a newline unless it ends with one.
    pub(crate) fn text(self, text: &str) -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        let newline = if text.ends_with('\n') { "" } else { "\n" };
        write!(stdout, "{text}{newline}")
            .and_then(|()| stdout.flush())
            .map_err(CliError::Output)
    }

    /// A line for the person on stderr (notices, progress). Stderr failing
    /// leaves nowhere to report it, so it is logged at debug level only.
    pub(crate) fn notice(self, text: &str) {
        let mut stderr = io::stderr().lock();
        if let Err(error) = writeln!(stderr, "{text}") {
            tracing::debug!(%error, "could not write to stderr");
        }
    }

    /// A progress line (a test stage as it completes): stdout for a person,
    /// stderr with `--json` so stdout stays one JSON document.
    pub(crate) fn progress(self, text: &str) {
        if self.json {
            self.notice(text);
            return;
        }
        let mut stdout = io::stdout().lock();
        if let Err(error) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
            tracing::debug!(%error, "could not write progress to stdout");
        }
    }

    /// Reports a failure: JSON on stdout with `--json` (and the sentence on
    /// stderr too, for the person watching), the sentence alone otherwise.
    pub(crate) fn failure(self, error: &CliError) {
        if self.json {
            let payload = error.payload();
            if let Err(output_error) = self.json(&ErrorEnvelope { error: &payload }) {
                tracing::debug!(error = %output_error, "could not write the JSON error");
            }
        }
        self.notice(&error.human());
    }
}

/// Replaces control characters (escape sequences, newlines in a label) so a
/// value occupies one table cell and cannot drive the terminal.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_control() {
                '?'
            } else {
                character
            }
        })
        .collect()
}

/// An aligned table: a header row, then one row per entry, columns separated
/// by two spaces, the last column not padded.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut text = String::new();
    let header_cells: Vec<String> = headers.iter().map(|header| (*header).to_owned()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            let cell = clean(cell);
            if index + 1 == row.len() {
                line.push_str(&cell);
            } else {
                let width = widths.get(index).copied().unwrap_or(0);
                let padding = width.saturating_sub(cell.chars().count());
                line.push_str(&cell);
                line.push_str(&" ".repeat(padding + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// [`clean`] line by line: newlines kept, every other control character
/// neutralised.
pub(crate) fn clean_lines(text: &str) -> String {
    text.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// `key: value` lines with the keys aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(key, _)| key.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (key, value) in pairs {
        let padding = width - key.chars().count();
        text.push_str(&format!("{key}:{} {}\n", " ".repeat(padding), clean(value)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_by_characters() {
        let rows = vec![
            vec![
                "openrouter".to_owned(),
                "OpenRouter".to_owned(),
                "yes".to_owned(),
            ],
            vec!["a".to_owned(), "Société".to_owned(), "no".to_owned()],
        ];
        let text = table(&["ID", "LABEL", "ENABLED"], &rows);
        assert_eq!(
            text,
            "ID          LABEL       ENABLED\nopenrouter  OpenRouter  yes\na           Société     no\n"
        );
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(clean("evil\u{1b}[31mred\n"), "evil?[31mred?");
    }

    #[test]
    fn fields_align_keys() {
        assert_eq!(
            fields(&[("id", "x".into()), ("label", "y".into())]),
            "id:    x\nlabel: y\n"
        );
    }
}
