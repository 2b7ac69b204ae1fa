//! DNS names as Route 53 takes and returns them.
//!
//! In: any case, with or without the trailing dot, octal escapes (`\052`) allowed.
//! Stored: lowercase, fully qualified, escapes decoded (`*.example.com.`).
//! Out: every character but `a-z`, `0-9`, `-`, `_` and `.` as a three-digit octal
//! escape, so a wildcard is listed as `\052.example.com.`.

use std::cmp::Ordering;

use fulmar_aws::AwsError;

/// The stored form of a name, or `None` when it is not a valid DNS name.
pub(crate) fn normalize(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 1);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = (0..3).filter_map(|_| chars.next()).collect();
            let code = u8::from_str_radix(&digits, 8).ok().filter(|_| digits.len() == 3)?;
            out.push((code as char).to_ascii_lowercase());
        } else if c.is_ascii() && !c.is_ascii_control() && c != ' ' {
            out.push(c.to_ascii_lowercase());
        } else {
            return None;
        }
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    if out == "." {
        return None;
    }
    let labels_ok = out[..out.len() - 1].split('.').all(|l| !l.is_empty() && l.len() <= 63);
    (labels_ok && out.len() <= 255).then_some(out)
}

/// The stored form of a name, or `InvalidDomainName`.
pub(crate) fn domain(raw: &str) -> Result<String, AwsError> {
    normalize(raw).ok_or_else(|| AwsError::new("InvalidDomainName", 400, format!("{raw} is not a valid domain name.")))
}

/// The first unescaped character Route 53 rejects outright in a name (space, tab or
/// another control character).
pub(crate) fn unsupported_char(raw: &str) -> Option<char> {
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ' ' || c.is_control() {
            return Some(c);
        }
    }
    None
}

/// Route 53's message for a name with an unsupported character.
pub(crate) fn unsupported_message(c: char) -> String {
    format!("FATAL problem: UnsupportedCharacter (Value contains unsupported characters) encountered with '{c}'")
}

/// The position a ListResourceRecordSets StartRecordName names. Route 53 takes any
/// escaped (`\X`, `\ddd`) or non-ASCII character here; an unescaped space or control
/// character is `InvalidInput`.
pub(crate) fn start_name(raw: &str) -> Result<String, AwsError> {
    if let Some(c) = unsupported_char(raw) {
        return Err(super::invalid(unsupported_message(c)));
    }
    if let Some(n) = normalize(raw) {
        return Ok(n);
    }
    let mut out = String::with_capacity(raw.len() + 1);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            match u8::from_str_radix(&digits, 8) {
                Ok(code) if digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    out.push((code as char).to_ascii_lowercase());
                    chars.nth(2);
                }
                _ => {
                    if let Some(next) = chars.next() {
                        out.extend(next.to_lowercase());
                    }
                }
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    if out == "." || out.len() > 1024 {
        return Err(AwsError::new(
            "InvalidDomainName",
            400,
            format!("{raw} is not a valid domain name."),
        ));
    }
    Ok(out)
}

/// The name as Route 53 lists it, with octal escapes.
pub(crate) fn display(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            other => out.push_str(&format!("\\{other:03o}")),
        }
    }
    out
}

/// Whether `name` is `zone` or lies below it.
pub(crate) fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || (name.len() > zone.len() && name.ends_with(zone) && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

/// Route 53's listing order: by labels from the root down (`com.example.www`).
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let la = a.trim_end_matches('.').rsplit('.');
    let lb = b.trim_end_matches('.').rsplit('.');
    la.cmp(lb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_and_display_forms() {
        assert_eq!(normalize("WWW.Example.COM").as_deref(), Some("www.example.com."));
        assert_eq!(normalize("\\052.example.com.").as_deref(), Some("*.example.com."));
        assert_eq!(display("*.example.com."), "\\052.example.com.");
        assert_eq!(normalize("a..b"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(normalize(&format!("{}.com", "a".repeat(64))), None);
        assert!(in_zone("a.example.com.", "example.com."));
        assert!(in_zone("example.com.", "example.com."));
        assert!(!in_zone("badexample.com.", "example.com."));
    }

    #[test]
    fn start_names_take_escapes_and_reject_spaces() {
        assert_eq!(start_name("I\\td.E.com").as_deref().ok(), Some("itd.e.com."));
        assert_eq!(start_name("i\\052d.e.com.").as_deref().ok(), Some("i*d.e.com."));
        assert_eq!(start_name("i国d.e.com.").as_deref().ok(), Some("i国d.e.com."));
        let err = start_name("i d.e.com.").unwrap_err();
        assert_eq!(err.code, "InvalidInput");
        assert!(err.message.ends_with("encountered with ' '"), "{}", err.message);
        assert_eq!(unsupported_char("a\\ b\tc"), Some('\t'));
        assert_eq!(unsupported_char("a\\ b"), None);
    }

    #[test]
    fn order_is_by_reversed_labels() {
        let mut names = vec![
            "www.example.com.",
            "example.com.",
            "a.b.example.com.",
            "z.example.com.",
            "example.org.",
        ];
        names.sort_by(|a, b| cmp(a, b));
        assert_eq!(
            names,
            [
                "example.com.",
                "a.b.example.com.",
                "www.example.com.",
                "z.example.com.",
                "example.org."
            ]
        );
    }
}
