//! Success-code matchers (`Matcher.HttpCode` / `Matcher.GrpcCode`): a comma list of
//! codes and inclusive ranges, e.g. `200`, `200,202`, `200-299`, `200-299,302`.
//!
//! ALB accepts HTTP codes 200–499 and gRPC codes 0–99. Whitespace around the whole
//! value and around each list item is ignored; whitespace inside a number or range
//! is an error. The empty-value message is AWS's own ("Health check matcher HTTP
//! code cannot be empty"); the other messages follow its wording (not confirmed
//! verbatim against AWS).

/// A parsed success-code matcher: `200`, `200,202`, `200-299` (HTTP) or gRPC `0-99`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMatcher {
    /// Inclusive ranges; a single code is `(c, c)`.
    ranges: Box<[(u16, u16)]>,
}

impl CodeMatcher {
    /// Parse a matcher; `Err` carries AWS's ValidationError message. `grpc` selects the 0–99 range,
    /// otherwise codes must lie in 200–499.
    pub fn parse(spec: &str, grpc: bool) -> Result<CodeMatcher, String> {
        let (kind, lo, hi) = if grpc { ("gRPC", 0, 99) } else { ("HTTP", 200, 499) };
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(format!("Health check matcher {kind} code cannot be empty"));
        }
        let invalid = || format!("Health check matcher {kind} code '{spec}' is not valid");
        let code = |s: &str| -> Result<u16, String> {
            if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let n: u16 = s.parse().map_err(|_| invalid())?;
            if n < lo || n > hi {
                return Err(format!(
                    "Health check matcher {kind} code '{n}' must be within '{lo}-{hi}' inclusive"
                ));
            }
            Ok(n)
        };
        let mut ranges = Vec::new();
        for item in spec.split(',').map(str::trim) {
            let range = match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (code(a)?, code(b)?);
                    if a > b {
                        return Err(format!(
                            "Health check matcher {kind} code range '{item}' must go from low to high"
                        ));
                    }
                    (a, b)
                }
                None => {
                    let c = code(item)?;
                    (c, c)
                }
            };
            ranges.push(range);
        }
        Ok(CodeMatcher { ranges: ranges.into() })
    }

    pub fn accepts(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= code && code <= b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_list_and_range() {
        let m = CodeMatcher::parse("200", false).expect("valid");
        assert!(m.accepts(200) && !m.accepts(201));
        let m = CodeMatcher::parse("200,202", false).expect("valid");
        assert!(m.accepts(202) && !m.accepts(201));
        let m = CodeMatcher::parse("200-299", false).expect("valid");
        assert!(m.accepts(200) && m.accepts(250) && m.accepts(299) && !m.accepts(300));
        let m = CodeMatcher::parse(" 200-204 , 302 ", false).expect("item whitespace ignored");
        assert!(m.accepts(204) && m.accepts(302) && !m.accepts(205));
    }

    #[test]
    fn http_bounds_are_200_to_499() {
        assert!(CodeMatcher::parse("499", false).is_ok());
        assert_eq!(
            CodeMatcher::parse("500", false),
            Err("Health check matcher HTTP code '500' must be within '200-499' inclusive".into())
        );
        assert!(CodeMatcher::parse("199", false).is_err());
        assert!(CodeMatcher::parse("200-500", false).is_err());
    }

    #[test]
    fn grpc_bounds_are_0_to_99() {
        let m = CodeMatcher::parse("0-99", true).expect("valid");
        assert!(m.accepts(0) && m.accepts(12) && m.accepts(99));
        assert!(CodeMatcher::parse("12", true).is_ok());
        assert!(CodeMatcher::parse("100", true).is_err());
        assert!(CodeMatcher::parse("200", true).is_err());
    }

    #[test]
    fn malformed_values_are_rejected() {
        assert_eq!(
            CodeMatcher::parse("", false),
            Err("Health check matcher HTTP code cannot be empty".into())
        );
        assert_eq!(
            CodeMatcher::parse("  ", true),
            Err("Health check matcher gRPC code cannot be empty".into())
        );
        for bad in [
            "abc",
            "200,",
            ",200",
            "200-",
            "-200",
            "2 00",
            "200--299",
            "+200",
            "0200",
            "200-299-300",
        ] {
            assert!(CodeMatcher::parse(bad, false).is_err(), "{bad:?} should fail");
        }
        assert!(CodeMatcher::parse("299-200", false).is_err());
    }
}
