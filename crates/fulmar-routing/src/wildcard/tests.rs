//! Unit tests for [`Pattern`], and a property test against a regex reference.

use super::Pattern;
use proptest::prelude::*;

fn ci(p: &str) -> Pattern {
    Pattern::new(p, true, false)
}

fn cs(p: &str) -> Pattern {
    Pattern::new(p, false, false)
}

#[test]
fn star_matches_zero_or_more() {
    assert!(cs("/img/*").matches("/img/"));
    assert!(cs("/img/*").matches("/img/a/b.png"));
    assert!(!cs("/img/*").matches("/img"));
    assert!(cs("*").matches(""));
    assert!(cs("**").matches("x"));
    assert!(cs("a*b*c").matches("abc"));
    assert!(cs("a*b*c").matches("axxbyyc"));
    assert!(!cs("a*b*c").matches("axxbyy"));
    assert!(!cs("a*a").matches("a"));
}

#[test]
fn question_mark_is_exactly_one_character() {
    assert!(cs("/a?c").matches("/abc"));
    assert!(!cs("/a?c").matches("/ac"));
    assert!(!cs("/a?c").matches("/abbc"));
    assert!(cs("?").matches("é"), "one character, two bytes");
    assert!(!cs("??").matches("é"));
    assert!(cs("*?").matches("é"));
    assert!(cs("x*?y").matches("xéy"));
}

#[test]
fn host_wildcard_needs_a_label() {
    let p = ci("*.example.com");
    assert!(p.matches("www.example.com"));
    assert!(p.matches("WWW.Example.COM"));
    assert!(!p.matches("example.com"));
}

#[test]
fn case_folding_is_ascii_and_optional() {
    assert!(ci("ABC").matches("abc"));
    assert!(ci("abc").matches("ABC"));
    assert!(!cs("/Img").matches("/img"));
    assert!(!ci("É").matches("é"), "only ASCII folds");
}

#[test]
fn escapes_only_when_enabled() {
    let q = Pattern::new(r"a\*b", true, true);
    assert!(q.matches("a*b"));
    assert!(!q.matches("axb"));
    let q = Pattern::new(r"what\?", true, true);
    assert!(q.matches("what?"));
    assert!(!q.matches("whatx"));
    // Without escapes, `\` is literal and `*` is a wildcard.
    let p = Pattern::new(r"a\*b", true, false);
    assert!(p.matches(r"a\xyzb"));
    // A backslash before anything else stays a backslash.
    assert!(Pattern::new(r"a\b", true, true).matches(r"a\b"));
}

#[test]
fn literal_patterns_are_detected() {
    assert!(cs("/health").is_literal());
    assert!(!cs("/h?").is_literal());
    assert!(Pattern::new(r"\*", false, true).is_literal());
    assert_eq!(cs("/x*").as_str(), "/x*");
}

/// The reference: the same pattern translated to an anchored regex.
fn reference(pattern: &str, fold: bool, escapes: bool) -> regex::Regex {
    let mut re = String::from(if fold { "(?si)^" } else { "(?s)^" });
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes && matches!(chars.peek(), Some('*' | '?')) => {
                let lit = chars.next().unwrap_or_default();
                re.push_str(&regex::escape(&lit.to_string()));
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("escaped pattern is a valid regex")
}

proptest! {
    #[test]
    fn agrees_with_regex(
        pattern in "[abA*?\\\\.]{0,10}",
        text in "[abAB*?\\\\.é]{0,14}",
        fold in any::<bool>(),
        escapes in any::<bool>(),
    ) {
        let compiled = Pattern::new(&pattern, fold, escapes);
        let expected = reference(&pattern, fold, escapes).is_match(&text);
        prop_assert_eq!(compiled.matches(&text), expected, "pattern {:?} text {:?}", pattern, text);
    }
}
