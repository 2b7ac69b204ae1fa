//! A request body's XML as a tree of elements: local names, text, children in
//! document order. Namespaces, attributes, comments and processing instructions
//! carry nothing a rest-xml input needs and are dropped.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One XML element: its local name, its text (entities resolved, CDATA included)
/// and its child elements in document order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// A leaf element holding `text`.
    pub(crate) fn leaf(name: &str, text: &str) -> Element {
        Element {
            name: name.to_owned(),
            text: text.to_owned(),
            children: Vec::new(),
        }
    }

    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Parses a document with exactly one root element; an empty (or all
    /// whitespace) document is an empty element with no name.
    pub(crate) fn parse(xml: &str) -> Result<Element, String> {
        let mut reader = Reader::from_str(xml);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(start) => {
                    if root.is_some() {
                        return Err("content after the root element".into());
                    }
                    let name = start.local_name().as_ref().to_owned();
                    stack.push(Element {
                        name,
                        ..Element::default()
                    });
                }
                Event::Empty(start) => {
                    let el = Element {
                        name: start.local_name().as_ref().to_owned(),
                        ..Element::default()
                    };
                    close(&mut stack, &mut root, el)?;
                }
                Event::End(_) => {
                    // The reader checks that end names match their start.
                    let el = stack.pop().ok_or("unbalanced end tag")?;
                    close(&mut stack, &mut root, el)?;
                }
                Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
                Event::CData(t) => push_text(&mut stack, &t.xml10_content())?,
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&r)
                            .ok_or_else(|| format!("unknown entity &{};", &*r))?
                            .to_owned(),
                    };
                    push_text(&mut stack, &resolved)?;
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err("unexpected end of document".into());
        }
        Ok(root.unwrap_or_default())
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(el) => el.text.push_str(text),
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
        let el = Element::parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<r:Root xmlns:r="urn:x" xmlns="urn:y"><!-- c --><A>1 &amp; &#50;&lt;</A><B/><C><D>x</D><D><![CDATA[<y>]]></D></C></r:Root>"#,
        )
        .expect("well-formed");
        assert_eq!(el.name, "Root");
        assert_eq!(el.child("A").expect("A").text, "1 & 2<");
        assert_eq!(el.child("B").expect("B").text, "");
        let c = el.child("C").expect("C");
        assert_eq!(c.children.len(), 2);
        assert_eq!(c.children[1].text, "<y>");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["<a>", "<a></b>", "<a/><b/>", "text", "<a>&bogus;</a>"] {
            assert!(Element::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Element::parse("  ").expect("empty"), Element::default());
    }
}
