//! Errors that point into an input file.
//!
//! A contract that breaks policy must say which line and why, so every
//! complaint about a TOML or JSON file carries the file, the line and column,
//! the field (as `[table] key`), and the offending source line with a caret
//! under it. The first line of the rendering is a complete sentence on its
//! own, for logs and scripts; the snippet below it is for people.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A located complaint about an input file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    path: PathBuf,
    /// One-based line and column of the start of the span, when known.
    position: Option<(usize, usize)>,
    field: Option<String>,
    message: String,
    snippet: Option<String>,
}

impl Diagnostic {
    /// A complaint about a whole file, with no position in it.
    pub fn file(path: &Path, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            path: path.to_path_buf(),
            position: None,
            field: None,
            message: message.into(),
            snippet: None,
        }
    }

    /// A complaint about the bytes `span` of `source`, the text of `path`.
    /// The field name is worked out from the TOML around the span.
    pub fn at(path: &Path, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line_no = source[..start].matches('\n').count() + 1;
        let col = source[line_start..start].chars().count() + 1;

        let text = &source[line_start..line_end];
        let width = source[start..span.end.clamp(start, line_end)]
            .chars()
            .count()
            .max(1);
        let gutter = line_no.to_string().len();
        let snippet = format!(
            "{:gutter$} |\n{line_no} | {text}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(col - 1),
            "^".repeat(width),
        );

        Diagnostic {
            path: path.to_path_buf(),
            position: Some((line_no, col)),
            field: toml_field_at(source, start),
            message: message.into(),
            snippet: Some(snippet),
        }
    }

    /// Turns a TOML parse or type error into a located diagnostic.
    ///
    /// A file whose very first statement does not parse is probably not
    /// TOML at all: a passphrase file, an age identity or a PEM key named
    /// by mistake. Its line is not quoted then, so that a secret does not
    /// end up on a screen or in a log; the position still says where.
    pub fn from_toml(path: &Path, source: &str, err: &toml::de::Error) -> Diagnostic {
        let message = err.message().trim_end().to_string();
        match err.span() {
            Some(span) if first_statement_unparsable(source, span.start) => {
                let mut diagnostic = Diagnostic::at(path, source, span, message);
                diagnostic.snippet = None;
                diagnostic.message.push_str(
                    "; the file's first line of content does not parse, so it may not be TOML \
                     at all, and its text is not shown",
                );
                diagnostic
            }
            Some(span) => Diagnostic::at(path, source, span, message),
            None => Diagnostic::file(path, message),
        }
    }

    /// Replaces the field name worked out from the source.
    pub fn with_field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    /// The message alone, without file or position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field the complaint is about, as `[table] key`.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// One-based line number, when the complaint has a position.
    pub fn line(&self) -> Option<usize> {
        self.position.map(|(line, _)| line)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}

/// Whether `source` fails TOML's syntax (not merely the expected types) at
/// or before its first line of content, that line holding `offset`.
fn first_statement_unparsable(source: &str, offset: usize) -> bool {
    let before = &source[..offset.min(source.len())];
    let content_before = before
        .lines()
        .take(before.matches('\n').count())
        .any(|line| !matches!(line.trim_start().chars().next(), None | Some('#')));
    !content_before && source.parse::<toml::Table>().is_err()
}

/// Names the TOML field at byte `offset` as `[table] key`, from the nearest
/// table header above and the key on the offset's line. This reads the
/// source as text, which is enough to name a field in a message.
fn toml_field_at(source: &str, offset: usize) -> Option<String> {
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[offset..]
        .find('\n')
        .map_or(source.len(), |i| offset + i);
    let line = &source[line_start..line_end];

    // On a table header itself, the field is that table; otherwise the
    // nearest header above.
    if line.trim_start().starts_with('[') {
        let name = line
            .trim()
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("");
        return Some(format!("[{}]", name.trim()));
    }
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .and_then(|l| l.split(']').next())
        .map(|l| l.trim_start_matches('[').trim().to_string());

    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with('['));

    match (table, key) {
        (Some(t), Some(k)) => Some(format!("[{t}] {k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) if line.trim_start().starts_with('[') => Some(format!("[{t}]")),
        _ => None,
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a
/// plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_line_column_and_field() {
        let src = "[contract]\nid = \"A\"\n\n[token]\nscopes = [\"x\", \"bogus\"]\n";
        let at = src.find("\"bogus\"").unwrap();
        let d = Diagnostic::at(Path::new("c.toml"), src, at..at + 7, "not in catalogue");
        let text = d.to_string();
        assert_eq!(
            text.lines().next().unwrap(),
            "c.toml:5:16: [token] scopes: not in catalogue"
        );
        assert!(text.contains("5 | scopes = [\"x\", \"bogus\"]"));
        assert!(text.ends_with("^^^^^^^"));
    }

    #[test]
    fn suggests_near_names_only() {
        let names = ["shipments:read", "shipments:write", "invoices:read"];
        assert_eq!(did_you_mean("shipment:read", names), Some("shipments:read"));
        assert_eq!(did_you_mean("payroll:admin", names), None);
    }
}
