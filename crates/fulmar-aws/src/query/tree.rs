//! The parameter tree: flat Query-protocol keys (`A.B.1.C`) folded into nodes.

use std::collections::BTreeMap;

/// One node of the parameter tree: the value given for exactly this key (if any)
/// and the nodes one `.`-segment below it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) value: Option<String>,
    pub(crate) children: BTreeMap<String, Node>,
}

impl Node {
    /// Records `value` under the dotted `key`; a repeated key keeps the last value.
    pub(crate) fn insert(&mut self, key: &str, value: String) {
        let mut node = self;
        for segment in key.split('.') {
            node = node.children.entry(segment.to_owned()).or_default();
        }
        node.value = Some(value);
    }

    /// The node at a dotted key, if any parameter lies at or below it.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        key.split('.')
            .try_fold(self, |node, segment| node.children.get(segment))
    }

    /// The children whose names are positive integers, in numeric order, with
    /// the segment each came from.
    pub(crate) fn numbered(&self) -> Vec<(&str, &Node)> {
        let mut items: Vec<(u32, &str, &Node)> = self
            .children
            .iter()
            .filter_map(|(k, n)| {
                let all_digits = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit());
                let index = if all_digits { k.parse().ok() } else { None };
                index.map(|i| (i, k.as_str(), n))
            })
            .collect();
        items.sort_by_key(|&(i, _, _)| i);
        items.into_iter().map(|(_, k, n)| (k, n)).collect()
    }

    /// The elements of a list, as `(relative key, node)`: `member.N` children
    /// (query flavour) or `N` children (ec2 flavour). `None` when the node does
    /// not look like a list; a bare `Name=` (empty value, no children) is an
    /// empty list.
    pub(crate) fn list_items(&self) -> Option<Vec<(String, &Node)>> {
        if let Some(member) = self.children.get("member") {
            let items = member.numbered();
            return Some(items.into_iter().map(|(k, n)| (format!("member.{k}"), n)).collect());
        }
        let items = self.numbered();
        if !items.is_empty() {
            return Some(items.into_iter().map(|(k, n)| (k.to_owned(), n)).collect());
        }
        let bare_empty = self.children.is_empty() && self.value.as_deref().unwrap_or("").is_empty();
        bare_empty.then(Vec::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_children_sort_numerically() {
        let mut root = Node::default();
        for (k, v) in [("L.member.10", "c"), ("L.member.2", "b"), ("L.member.1", "a")] {
            root.insert(k, v.into());
        }
        let list = root.get("L").and_then(Node::list_items).unwrap_or_default();
        let values: Vec<_> = list.iter().map(|(_, n)| n.value.as_deref()).collect();
        assert_eq!(values, [Some("a"), Some("b"), Some("c")]);
        assert_eq!(list[2].0, "member.10");
    }

    #[test]
    fn empty_value_is_an_empty_list() {
        let mut root = Node::default();
        root.insert("Subnets", String::new());
        assert_eq!(root.get("Subnets").and_then(Node::list_items), Some(vec![]));
        root.insert("Name", "x".into());
        assert_eq!(root.get("Name").and_then(Node::list_items), None);
    }
}
