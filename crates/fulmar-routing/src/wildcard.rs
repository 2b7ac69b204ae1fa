//! ALB wildcard patterns: `*` matches zero or more characters, `?` exactly one.
//! In query-string conditions `\*` and `\?` stand for literal characters.
//!
//! A pattern is compiled once, when the configuration snapshot is built, into a
//! literal (no wildcards) or into `*`-separated segments. Matching never allocates:
//! the first segment is anchored at the start of the text, the last at its end, and
//! every middle segment is found at its leftmost position, which is optimal because a
//! segment has a fixed length in characters (`?` is exactly one character).
//!
//! `?` consumes one Unicode scalar (one to four UTF-8 bytes), not one byte. Case
//! folding is ASCII only: the pattern is lowercased at compile time and text bytes are
//! lowercased on the fly. A backslash not followed by `*` or `?` is a literal
//! backslash, and escapes are honoured only when the caller asks (query strings).

/// A pattern compiled once (when the configuration snapshot is built) and matched per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: Box<str>,
    fold: bool,
    /// The fewest bytes a matching text can have (each `?` needs at least one).
    min_len: usize,
    /// The text's first and last bytes when the pattern fixes them (folded if `fold`):
    /// with `min_len`, an inline reject that settles most non-matching rules.
    first: Option<u8>,
    last: Option<u8>,
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// No wildcard: whole-text equality.
    Literal(Box<[u8]>),
    /// At least one wildcard. Without a `*`, `head` alone must cover the whole text.
    Glob {
        head: Segment,
        middle: Box<[Segment]>,
        /// `Some` when the pattern contains a `*`: the part after the last one.
        tail: Option<Segment>,
    },
}

/// A run of pattern characters between two `*`s: literal bytes and `?` slots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Segment {
    /// Literal bytes, with a placeholder (0) where `any` is set.
    bytes: Box<[u8]>,
    /// Which positions are `?`; empty when the segment is all literal.
    any: Box<[bool]>,
}

impl Pattern {
    /// Compile `pattern`. `case_insensitive` folds ASCII case on both sides;
    /// `escapes` enables `\*` / `\?` literals (query-string conditions only).
    pub fn new(pattern: &str, case_insensitive: bool, escapes: bool) -> Pattern {
        let mut segments: Vec<Segment> = Vec::new();
        let mut bytes = Vec::new();
        let mut any = Vec::new();
        let mut has_wildcard = false;
        let mut has_star = false;
        let src = pattern.as_bytes();
        let mut i = 0;
        while i < src.len() {
            let b = src[i];
            match b {
                b'\\' if escapes && matches!(src.get(i + 1), Some(b'*' | b'?')) => {
                    bytes.push(src[i + 1]);
                    any.push(false);
                    i += 2;
                    continue;
                }
                b'*' => {
                    has_wildcard = true;
                    has_star = true;
                    segments.push(Segment::new(std::mem::take(&mut bytes), std::mem::take(&mut any)));
                }
                b'?' => {
                    has_wildcard = true;
                    bytes.push(0);
                    any.push(true);
                }
                _ => {
                    bytes.push(if case_insensitive { b.to_ascii_lowercase() } else { b });
                    any.push(false);
                }
            }
            i += 1;
        }
        let last = Segment::new(bytes, any);
        let shape = if !has_wildcard {
            Shape::Literal(last.bytes)
        } else if !has_star {
            Shape::Glob {
                head: last,
                middle: Box::new([]),
                tail: None,
            }
        } else {
            // `segments` holds every run before a `*`, so it is non-empty here.
            let mut runs = segments.into_iter();
            let head = runs.next().unwrap_or_default();
            let middle: Vec<Segment> = runs.filter(|s| !s.bytes.is_empty()).collect();
            Shape::Glob {
                head,
                middle: middle.into(),
                tail: Some(last),
            }
        };
        let (min_len, first, last) = shape.bounds();
        Pattern {
            source: pattern.into(),
            fold: case_insensitive,
            min_len,
            first,
            last,
            shape,
        }
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern contains no wildcard (so it matches exactly one string).
    pub fn is_literal(&self) -> bool {
        matches!(self.shape, Shape::Literal(_))
    }

    #[inline]
    pub fn matches(&self, text: &str) -> bool {
        let text = text.as_bytes();
        if text.len() < self.min_len {
            return false;
        }
        let fixed = |want: Option<u8>, got: Option<&u8>| match (want, got) {
            (Some(w), Some(&g)) => eq_byte(w, g, self.fold),
            _ => true,
        };
        if !fixed(self.first, text.first()) || !fixed(self.last, text.last()) {
            return false;
        }
        self.matches_shape(text)
    }

    fn matches_shape(&self, text: &[u8]) -> bool {
        match &self.shape {
            Shape::Literal(lit) => eq_bytes(lit, text, self.fold),
            Shape::Glob {
                head,
                middle,
                tail: None,
            } => {
                debug_assert!(middle.is_empty());
                head.match_at(text, 0, self.fold) == Some(text.len())
            }
            Shape::Glob {
                head,
                middle,
                tail: Some(tail),
            } => {
                let Some(mut pos) = head.match_at(text, 0, self.fold) else {
                    return false;
                };
                let Some(limit) = tail.match_back(text, self.fold) else {
                    return false;
                };
                if limit < pos {
                    return false;
                }
                let window = &text[..limit];
                for seg in middle.iter() {
                    match seg.find(window, pos, self.fold) {
                        Some(end) => pos = end,
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

impl Shape {
    /// `(min_len, first, last)` for [`Pattern`]'s quick reject.
    fn bounds(&self) -> (usize, Option<u8>, Option<u8>) {
        match self {
            Shape::Literal(lit) => (lit.len(), lit.first().copied(), lit.last().copied()),
            Shape::Glob { head, middle, tail } => {
                let min_len = head.bytes.len()
                    + middle.iter().map(|s| s.bytes.len()).sum::<usize>()
                    + tail.as_ref().map_or(0, |t| t.bytes.len());
                let first = head.literal_at(0);
                let last = match tail {
                    Some(t) => t.bytes.len().checked_sub(1).and_then(|i| t.literal_at(i)),
                    // No `*`: `head` spans the whole text, so its last slot is the last byte.
                    None => head.bytes.len().checked_sub(1).and_then(|i| head.literal_at(i)),
                };
                (min_len, first, last)
            }
        }
    }
}

impl Segment {
    /// The literal byte in slot `i`, if that slot exists and is not a `?`.
    fn literal_at(&self, i: usize) -> Option<u8> {
        (i < self.bytes.len() && !self.is_any(i)).then(|| self.bytes[i])
    }

    fn new(bytes: Vec<u8>, any: Vec<bool>) -> Segment {
        let any = if any.iter().any(|&a| a) {
            any.into()
        } else {
            Box::new([]) as Box<[bool]>
        };
        Segment {
            bytes: bytes.into(),
            any,
        }
    }

    fn is_any(&self, i: usize) -> bool {
        !self.any.is_empty() && self.any[i]
    }

    /// Match this segment starting at byte `start`; the end position on success.
    #[inline]
    fn match_at(&self, text: &[u8], start: usize, fold: bool) -> Option<usize> {
        if self.any.is_empty() {
            let end = start.checked_add(self.bytes.len())?;
            let window = text.get(start..end)?;
            return eq_bytes(&self.bytes, window, fold).then_some(end);
        }
        let mut pos = start;
        for (i, &p) in self.bytes.iter().enumerate() {
            let &t = text.get(pos)?;
            if self.is_any(i) {
                pos += utf8_len(t);
                if pos > text.len() {
                    return None;
                }
            } else {
                if !eq_byte(p, t, fold) {
                    return None;
                }
                pos += 1;
            }
        }
        Some(pos)
    }

    /// Match this segment so that it ends exactly at the end of `text`; its start.
    #[inline]
    fn match_back(&self, text: &[u8], fold: bool) -> Option<usize> {
        if self.any.is_empty() {
            let start = text.len().checked_sub(self.bytes.len())?;
            return eq_bytes(&self.bytes, &text[start..], fold).then_some(start);
        }
        let mut pos = text.len();
        for (i, &p) in self.bytes.iter().enumerate().rev() {
            if pos == 0 {
                return None;
            }
            if self.is_any(i) {
                pos -= 1;
                // Step back over UTF-8 continuation bytes to the start of the character.
                while pos > 0 && text[pos] & 0xC0 == 0x80 {
                    pos -= 1;
                }
            } else {
                pos -= 1;
                if !eq_byte(p, text[pos], fold) {
                    return None;
                }
            }
        }
        Some(pos)
    }

    /// The leftmost match starting at or after `from`; its end position.
    fn find(&self, text: &[u8], from: usize, fold: bool) -> Option<usize> {
        let mut start = from;
        while start <= text.len() {
            if let Some(end) = self.match_at(text, start, fold) {
                return Some(end);
            }
            if start == text.len() {
                break;
            }
            // Advance one whole character so `?` never starts mid-character.
            start += utf8_len(text[start]);
        }
        None
    }
}

/// How many bytes the UTF-8 character starting with `lead` occupies.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xFF => 4,
        // A continuation byte cannot lead in valid UTF-8; step one byte.
        _ => 1,
    }
}

/// `pattern` bytes are already lowercased when `fold` is set.
#[inline]
fn eq_byte(pattern: u8, text: u8, fold: bool) -> bool {
    if fold {
        pattern == text.to_ascii_lowercase()
    } else {
        pattern == text
    }
}

/// Byte-wise equality; a plain loop beats a `memcmp` call for the short strings
/// (and early mismatches) rule matching sees.
#[inline]
fn eq_bytes(pattern: &[u8], text: &[u8], fold: bool) -> bool {
    pattern.len() == text.len() && pattern.iter().zip(text).all(|(&p, &t)| eq_byte(p, t, fold))
}

#[cfg(test)]
mod tests;
