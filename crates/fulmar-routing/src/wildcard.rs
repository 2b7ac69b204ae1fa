//! ALB wildcard patterns: `*` matches zero or more characters, `?` exactly one.
//! In query-string conditions `\*` and `\?` stand for literal characters.

/// A pattern compiled once (when the configuration snapshot is built) and matched per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    // implementation-defined
}

impl Pattern {
    /// Compile `pattern`. `case_insensitive` folds ASCII case on both sides;
    /// `escapes` enables `\*` / `\?` literals (query-string conditions only).
    pub fn new(pattern: &str, case_insensitive: bool, escapes: bool) -> Pattern {
        todo!()
    }

    pub fn matches(&self, text: &str) -> bool {
        todo!()
    }
}
