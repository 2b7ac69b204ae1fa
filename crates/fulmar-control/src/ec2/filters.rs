//! EC2 `Filter.N.Name` / `Filter.N.Value.M`: filters are AND'd, values OR'd, and
//! values may use `*` and `?` wildcards.

use fulmar_model::Tag;
use fulmar_routing::wildcard::Pattern;

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterIn {
    name: String,
    #[serde(default, rename = "Value")]
    values: Vec<String>,
}

/// Whether a resource passes every filter. `field` answers the values a resource has
/// for a filter name (`None` when the name is not supported there: it never matches).
pub fn matches(filters: &[FilterIn], tags: &[Tag], field: impl Fn(&str) -> Option<Vec<String>>) -> bool {
    filters.iter().all(|f| {
        let have: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            tags.iter().filter(|t| t.key == key).map(|t| t.value.clone()).collect()
        } else if f.name == "tag-key" {
            tags.iter().map(|t| t.key.clone()).collect()
        } else if f.name == "tag-value" {
            tags.iter().map(|t| t.value.clone()).collect()
        } else {
            match field(&f.name) {
                Some(v) => v,
                None => return false,
            }
        };
        f.values.iter().any(|want| {
            let p = Pattern::new(want, false, true);
            have.iter().any(|h| p.matches(h))
        })
    })
}

/// The values given for filter `name` (every occurrence).
pub fn values<'a>(filters: &'a [FilterIn], name: &'a str) -> impl Iterator<Item = &'a str> {
    filters
        .iter()
        .filter(move |f| f.name == name)
        .flat_map(|f| f.values.iter().map(String::as_str))
}
