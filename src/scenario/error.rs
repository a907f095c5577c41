//! Input errors: what was wrong, where (file, line and column, or the field path), and a
//! suggestion when a name looks misspelt.

use std::fmt;
use std::path::{Path, PathBuf};

use super::suggest;

/// Boxed so that `Result<_, InputError>` stays small on the happy path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError(Box<Details>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Details {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field path (`cluster.nodePools[2].count`) when no position is known.
    pub path: Option<String>,
    pub message: String,
    pub help: Option<String>,
    /// The file's further errors (`scenario::collect`), sorted by position; printed after
    /// this one, then a line with the count.
    pub more: Vec<InputError>,
    /// Collection stopped at the limit: there may be more errors than these.
    pub stopped: bool,
}

impl std::error::Error for InputError {}

impl std::ops::Deref for InputError {
    type Target = Details;
    fn deref(&self) -> &Details {
        &self.0
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": error: ")?;
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        for e in &self.more {
            write!(f, "\n{e}")?;
        }
        if !self.more.is_empty() {
            write!(f, "\n{} errors", self.more.len() + 1)?;
            if self.stopped {
                write!(f, " (the first {}; there may be more)", self.more.len() + 1)?;
            }
        }
        Ok(())
    }
}

impl InputError {
    pub fn at_path(file: &Path, path: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError(Box::new(Details {
            file: file.to_path_buf(),
            line: None,
            column: None,
            path: Some(path.into()),
            message: message.into(),
            help: None,
            more: Vec::new(),
            stopped: false,
        }))
    }

    pub fn from_details(d: Details) -> InputError {
        InputError(Box::new(d))
    }

    /// Moves a trailing "; did you mean `x`?" of the message into the help line.
    pub fn split_help(mut self) -> InputError {
        if let Some((m, h)) = self.0.message.clone().split_once("; did you mean ") {
            self.0.message = m.to_string();
            self.0.help = Some(format!("did you mean {h}"));
        }
        self
    }

    pub fn file(file: &Path, message: impl Into<String>) -> InputError {
        InputError(Box::new(Details {
            file: file.to_path_buf(),
            line: None,
            column: None,
            path: None,
            message: message.into(),
            help: None,
            more: Vec::new(),
            stopped: false,
        }))
    }

    /// One error for several of a file, sorted by position (those without one last, in the
    /// order found); `stopped` when collection stopped at the limit. `None` if `errors` is
    /// empty.
    pub fn many(mut errors: Vec<InputError>, stopped: bool) -> Option<InputError> {
        errors.sort_by_key(|e| (e.line.is_none(), e.line, e.column));
        let mut it = errors.into_iter();
        let mut first = it.next()?;
        first.0.more = it.collect();
        first.0.stopped = stopped;
        Some(first)
    }

    /// Sets the line and column (1-based) of an error found before parsing.
    pub fn set_position(&mut self, line: usize, column: usize) {
        self.0.line = Some(line);
        self.0.column = Some(column);
    }

    pub fn with_help(mut self, help: impl Into<String>) -> InputError {
        self.0.help = Some(help.into());
        self
    }

    /// Suggests the closest of `candidates` for a misspelt `word`.
    pub fn suggest<'a>(
        self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> InputError {
        match suggest::closest(word, candidates) {
            Some(s) => self.with_help(format!("did you mean `{s}`?")),
            None => self,
        }
    }

    /// A YAML or schema error from serde_yaml, with its position.
    pub fn from_yaml(file: &Path, e: &serde_yaml::Error) -> InputError {
        let text = e.to_string();
        // serde_yaml appends " at line L column C"; we print the position ourselves.
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        // Our own messages may end in "; did you mean `x`?": that part is the help line.
        let (message, help) = match message.split_once("; did you mean ") {
            Some((m, h)) => (m.to_string(), Some(format!("did you mean {h}"))),
            None => {
                let help = if message.contains("unknown field")
                    || message.contains("unknown variant")
                {
                    suggest::from_serde_message(&message).map(|s| format!("did you mean `{s}`?"))
                } else {
                    None
                };
                (message, help)
            }
        };
        let (line, column) = match e.location() {
            Some(l) => (Some(l.line()), Some(l.column())),
            None => (None, None),
        };
        InputError(Box::new(Details {
            file: file.to_path_buf(),
            line,
            column,
            path: None,
            message,
            help,
            more: Vec::new(),
            stopped: false,
        }))
    }
}
