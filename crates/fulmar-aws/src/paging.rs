//! Paging of `Describe*` listings behind an opaque marker.
//!
//! The marker is the base64 of the offset of the next item (`o:<offset>`), so it
//! means nothing to clients and survives being echoed back verbatim. A listing
//! that shrank between calls simply yields an empty last page.

use crate::AwsError;
use base64::Engine as _;

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One page of `items`: starting at `marker` (from the start when `None`),
/// at most `page_size` long (`max` when `None`), and the marker of the next
/// page when there is one.
///
/// A marker this function did not produce, or a `page_size` outside
/// `1..=max`, is a `ValidationError`.
pub fn page<'a, T>(
    items: &'a [T],
    marker: Option<&str>,
    page_size: Option<u32>,
    max: u32,
) -> Result<(&'a [T], Option<String>), AwsError> {
    let size = match page_size {
        None => max,
        Some(0) => return Err(page_size_error(0, "greater than or equal to 1")),
        Some(n) if n > max => return Err(page_size_error(n, &format!("less than or equal to {max}"))),
        Some(n) => n,
    };
    let start = match marker {
        None => 0,
        Some(m) => decode_marker(m).ok_or_else(|| AwsError::validation("Invalid Marker"))?,
    };
    let start = start.min(items.len());
    let end = start.saturating_add(size as usize).min(items.len());
    let next = (end < items.len()).then(|| encode_marker(end));
    Ok((&items[start..end], next))
}

fn page_size_error(value: u32, bound: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at 'pageSize' failed to satisfy \
         constraint: Member must have value {bound}"
    ))
}

fn encode_marker(offset: usize) -> String {
    ENGINE.encode(format!("o:{offset}"))
}

fn decode_marker(marker: &str) -> Option<usize> {
    let raw = ENGINE.decode(marker).ok()?;
    std::str::from_utf8(&raw).ok()?.strip_prefix("o:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_all_pages() {
        let items: Vec<u32> = (0..7).collect();
        let mut marker = None;
        let mut seen = vec![];
        loop {
            let (chunk, next) = page(&items, marker.as_deref(), Some(3), 400).expect("valid page");
            seen.extend_from_slice(chunk);
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn defaults_and_edges() {
        let items = [1, 2];
        assert_eq!(page(&items, None, None, 400).expect("valid"), (&items[..], None));
        assert_eq!(page(&items, None, Some(2), 2).expect("valid"), (&items[..], None));
        let empty: [u8; 0] = [];
        assert_eq!(page(&empty, None, None, 400).expect("valid").0.len(), 0);
        let beyond = encode_marker(10);
        assert_eq!(
            page(&items, Some(&beyond), None, 400).expect("valid"),
            (&items[..0], None)
        );
    }

    #[test]
    fn rejects_bad_input() {
        let items = [1];
        for bad in ["", "!!", "bm9wZQ"] {
            let err = page(&items, Some(bad), None, 400).expect_err("bad marker");
            assert_eq!(err.code, "ValidationError");
        }
        let err = page(&items, None, Some(0), 400).expect_err("zero");
        assert!(err.message.contains("greater than or equal to 1"));
        let err = page(&items, None, Some(401), 400).expect_err("too big");
        assert!(err.message.contains("Value '401' at 'pageSize'"), "{}", err.message);
        assert!(err.message.contains("less than or equal to 400"));
    }
}
