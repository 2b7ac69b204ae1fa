//! A request body's XML as a tree of elements: local names, text, children in
//! document order. Namespaces, attributes, comments and processing instructions
//! carry nothing a rest-xml input needs and are dropped.
//!
//! The tree is one vector of nodes linked by index (first child, next sibling), and
//! names and text borrow from the request body wherever the XML needs no decoding, so
//! a batch of a thousand changes costs a few allocations, not several per element.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::Reader;

/// No node.
const NONE: u32 = u32::MAX;

/// One XML element: its local name, its text (entities resolved, CDATA included),
/// and links to its children in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node<'a> {
    name: Cow<'a, str>,
    text: Cow<'a, str>,
    first: u32,
    last: u32,
    next: u32,
    count: u32,
}

impl<'a> Node<'a> {
    fn new(name: Cow<'a, str>, text: Cow<'a, str>) -> Node<'a> {
        Node {
            name,
            text,
            first: NONE,
            last: NONE,
            next: NONE,
            count: 0,
        }
    }
}

/// A parsed document: node 0 is the root element (an element with no name for an
/// empty document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

/// One element of a [`Tree`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'t> {
    tree: &'t Tree<'t>,
    at: u32,
}

impl<'t> Element<'t> {
    fn node(&self) -> &'t Node<'t> {
        &self.tree.nodes[self.at as usize]
    }

    /// The local name.
    pub(crate) fn name(&self) -> &'t str {
        &self.node().name
    }

    /// The text directly inside the element.
    pub(crate) fn text(&self) -> &'t str {
        &self.node().text
    }

    /// Whether the element has child elements.
    pub(crate) fn has_children(&self) -> bool {
        self.node().first != NONE
    }

    /// The number of child elements.
    pub(crate) fn child_count(&self) -> usize {
        self.node().count as usize
    }

    /// The child elements in document order.
    pub(crate) fn children(&self) -> Children<'t> {
        Children {
            tree: self.tree,
            at: self.node().first,
        }
    }

    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<Element<'t>> {
        self.children().find(|c| c.name() == name)
    }
}

/// The children of an element.
pub(crate) struct Children<'t> {
    tree: &'t Tree<'t>,
    at: u32,
}

impl<'t> Iterator for Children<'t> {
    type Item = Element<'t>;

    fn next(&mut self) -> Option<Element<'t>> {
        if self.at == NONE {
            return None;
        }
        let el = Element {
            tree: self.tree,
            at: self.at,
        };
        self.at = self.tree.nodes[self.at as usize].next;
        Some(el)
    }
}

impl<'a> Tree<'a> {
    /// The root element.
    pub(crate) fn root(&self) -> Element<'_> {
        Element { tree: self, at: 0 }
    }

    /// Adds a leaf element holding `text` as the root's last child.
    pub(crate) fn push_leaf(&mut self, name: Cow<'a, str>, text: Cow<'a, str>) {
        self.push(Some(0), Node::new(name, text));
    }

    /// Appends `node` as the last child of `parent`; returns its index.
    fn push(&mut self, parent: Option<u32>, node: Node<'a>) -> u32 {
        let at = self.nodes.len() as u32;
        self.nodes.push(node);
        if let Some(p) = parent {
            let last = self.nodes[p as usize].last;
            if last == NONE {
                self.nodes[p as usize].first = at;
            } else {
                self.nodes[last as usize].next = at;
            }
            let parent = &mut self.nodes[p as usize];
            parent.last = at;
            parent.count += 1;
        }
        at
    }

    /// Parses a document with exactly one root element; an empty (or all
    /// whitespace) document is an empty element with no name.
    pub(crate) fn parse(xml: &'a str) -> Result<Tree<'a>, String> {
        let mut reader = Reader::from_str(xml);
        let mut tree = Tree {
            nodes: Vec::with_capacity(xml.len() / 32 + 1),
        };
        let mut stack: Vec<u32> = Vec::new();
        let mut rooted = false;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(start) => {
                    if rooted && stack.is_empty() {
                        return Err("content after the root element".into());
                    }
                    let name = borrowed(xml, start.local_name().as_ref());
                    let at = tree.push(stack.last().copied(), Node::new(name, Cow::Borrowed("")));
                    stack.push(at);
                }
                Event::Empty(start) => {
                    if rooted && stack.is_empty() {
                        return Err("more than one root element".into());
                    }
                    let name = borrowed(xml, start.local_name().as_ref());
                    tree.push(stack.last().copied(), Node::new(name, Cow::Borrowed("")));
                    rooted |= stack.is_empty();
                }
                Event::End(_) => {
                    // The reader checks that end names match their start.
                    stack.pop().ok_or("unbalanced end tag")?;
                    rooted |= stack.is_empty();
                }
                Event::Text(t) => push_text(&mut tree, &stack, t.xml10_content())?,
                Event::CData(t) => push_text(&mut tree, &stack, t.xml10_content())?,
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&r)
                            .ok_or_else(|| format!("unknown entity &{};", &*r))?
                            .to_owned(),
                    };
                    push_text(&mut tree, &stack, Cow::Owned(resolved))?;
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err("unexpected end of document".into());
        }
        if tree.nodes.is_empty() {
            tree.nodes.push(Node::new(Cow::Borrowed(""), Cow::Borrowed("")));
        }
        Ok(tree)
    }
}

/// `name` (a name the reader found in `xml`) as a slice of `xml` when it is one, so
/// the tree borrows it; else a copy.
fn borrowed<'a>(xml: &'a str, name: &str) -> Cow<'a, str> {
    let start = (name.as_ptr() as usize).wrapping_sub(xml.as_ptr() as usize);
    match start.checked_add(name.len()).and_then(|end| xml.get(start..end)) {
        Some(s) if s.as_ptr() == name.as_ptr() => Cow::Borrowed(s),
        _ => Cow::Owned(name.to_owned()),
    }
}

fn push_text<'a>(tree: &mut Tree<'a>, stack: &[u32], text: Cow<'a, str>) -> Result<(), String> {
    match stack.last() {
        Some(&at) => {
            let el = &mut tree.nodes[at as usize].text;
            if el.is_empty() {
                *el = text;
            } else {
                el.to_mut().push_str(&text);
            }
        }
        None if text.trim().is_empty() => {}
        None => return Err("text outside the root element".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_with_entities_and_namespaces() {
        let tree = Tree::parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<r:Root xmlns:r="urn:x" xmlns="urn:y"><!-- c --><A>1 &amp; &#50;&lt;</A><B/><C><D>x</D><D><![CDATA[<y>]]></D></C></r:Root>"#,
        )
        .expect("well-formed");
        let el = tree.root();
        assert_eq!(el.name(), "Root");
        assert_eq!(el.child("A").expect("A").text(), "1 & 2<");
        assert_eq!(el.child("B").expect("B").text(), "");
        let c = el.child("C").expect("C");
        assert_eq!(c.child_count(), 2);
        assert_eq!(c.children().nth(1).expect("second D").text(), "<y>");
        assert_eq!(c.children().map(|d| d.name()).collect::<Vec<_>>(), ["D", "D"]);
        assert!(!el.child("A").expect("A").has_children());
    }

    #[test]
    fn names_and_plain_text_borrow_from_the_body() {
        let body = "<Root><Name>www.example.com.</Name></Root>";
        let tree = Tree::parse(body).expect("well-formed");
        let name = tree.root().child("Name").expect("Name");
        let range = body.as_ptr() as usize..body.as_ptr() as usize + body.len();
        assert!(range.contains(&(name.name().as_ptr() as usize)));
        assert!(range.contains(&(name.text().as_ptr() as usize)));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["<a>", "<a></b>", "<a/><b/>", "<a></a><b></b>", "text", "<a>&bogus;</a>"] {
            assert!(Tree::parse(bad).is_err(), "{bad}");
        }
        let empty = Tree::parse("  ").expect("empty");
        assert_eq!((empty.root().name(), empty.root().child_count()), ("", 0));
    }
}
