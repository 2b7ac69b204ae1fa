//! `MaxResults` / `NextToken` paging of EC2 Describe calls. The token is an opaque
//! encoding of the offset of the next item.

use fulmar_aws::AwsError;

use super::invalid;

/// One page of `items` and the token of the next page. `MaxResults` must lie in
/// `min..=1000`; without it everything is returned at once.
pub fn page<T>(
    items: Vec<T>,
    max_results: Option<i32>,
    next_token: Option<&str>,
    min: i32,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match next_token {
        None | Some("") => 0,
        Some(t) => decode(t).ok_or_else(|| invalid(format!("Invalid value '{t}' for parameter nextToken.")))?,
    };
    let size = match max_results {
        None => usize::MAX,
        Some(n) if n < min || n > 1000 => {
            return Err(invalid(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value greater than {min} and less than 1000."
            )))
        }
        Some(n) => n as usize,
    };
    let total = items.len();
    let start = start.min(total);
    let end = start.saturating_add(size).min(total);
    let next = (end < total).then(|| encode(end));
    Ok((items.into_iter().skip(start).take(end - start).collect(), next))
}

fn encode(offset: usize) -> String {
    hex::encode(format!("fulmar:{offset}"))
}

fn decode(token: &str) -> Option<usize> {
    let raw = hex::decode(token).ok()?;
    std::str::from_utf8(&raw).ok()?.strip_prefix("fulmar:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn walks_pages() {
        let (a, t) = super::page((0..7).collect(), Some(5), None, 5).expect("page");
        assert_eq!(a, vec![0, 1, 2, 3, 4]);
        let (b, t) = super::page((0..7).collect(), Some(5), t.as_deref(), 5).expect("page");
        assert_eq!((b, t), (vec![5, 6], None));
        assert!(super::page(vec![1], Some(2), None, 5).is_err());
        assert!(super::page(vec![1], None, Some("zz"), 5).is_err());
    }
}
