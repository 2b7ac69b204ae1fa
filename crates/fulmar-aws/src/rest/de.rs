//! A serde `Deserializer` over an [`Element`] tree.
//!
//! Structs read their fields from child elements by serde name (unknown elements
//! are skipped, the first of repeated ones wins), sequences from every child of
//! the wrapper element whatever its name (`<Changes><Change>..`, `<CidrList><Cidr>..`),
//! maps from child names to children, options from presence, unit enum variants
//! and scalars from the trimmed text. Every error carries the element path it
//! arose at, in AWS's `changeBatch.changes.1.member.action` style.

use super::element::{Children, Element};
use serde::de::{self, IntoDeserializer, Visitor};
use std::fmt;

/// Why an element tree did not fit the input type.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeError {
    /// serde reported a missing field; the enclosing struct adds the path.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A required member is absent, by full path.
    #[error("missing member {0}")]
    MissingMember(String),
    /// A complete, AWS-style constraint message.
    #[error("{0}")]
    Invalid(String),
    /// A message from a `Deserialize` impl that has not been placed yet.
    #[error("{0}")]
    Custom(String),
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::Custom(msg.to_string())
    }
    fn missing_field(field: &'static str) -> Self {
        DeError::MissingField(field)
    }
}

/// The path segment AWS uses for a member: its name with a lowercase first letter.
fn segment(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Where an element sits, from the request root: rendered (`changeBatch.changes.1.member`)
/// only when an error needs it, so decoding a valid request builds no path strings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'p> {
    Root,
    /// A member of a structure, by element name.
    Member(&'p Path<'p>, &'p str),
    /// The 1-based item of a list.
    Item(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        let sep = |out: &mut String| {
            if !out.is_empty() {
                out.push('.');
            }
        };
        match self {
            Path::Root => {}
            Path::Member(parent, name) => {
                parent.write(out);
                sep(out);
                out.push_str(&segment(name));
            }
            Path::Item(parent, index) => {
                parent.write(out);
                sep(out);
                out.push_str(&format!("{index}.member"));
            }
        }
    }
}

/// Deserializes one element, known by its path from the request root.
pub(crate) struct ElementDe<'t, 'p> {
    pub(crate) el: Element<'t>,
    pub(crate) path: Path<'p>,
}

impl<'t, 'p> ElementDe<'t, 'p> {
    fn child<'q>(&'q self, el: Element<'t>) -> ElementDe<'t, 'q> {
        ElementDe {
            el,
            path: Path::Member(&self.path, el.name()),
        }
    }

    fn constraint(&self, what: &str) -> DeError {
        DeError::Invalid(format!(
            "Value '{}' at '{}' failed to satisfy constraint: {what}",
            self.el.text().trim(),
            self.path.render()
        ))
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        self.el.text().trim().parse().map_err(|_| self.constraint(what))
    }

    /// Gives an error raised below this element its place, if it has none yet.
    fn place(&self, err: DeError) -> DeError {
        match err {
            DeError::MissingField(f) => DeError::MissingMember(join(&self.path.render(), &segment(f))),
            DeError::Custom(msg) if !self.el.has_children() => self.constraint(&msg),
            DeError::Custom(msg) => DeError::Invalid(format!("Invalid value at '{}': {msg}", self.path.render())),
            other => other,
        }
    }
}

macro_rules! parse_number {
    ($($method:ident => $visit:ident, $what:literal),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.parse($what)?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ElementDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if !self.el.has_children() {
            visitor.visit_str(self.el.text())
        } else {
            self.deserialize_map(visitor)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.el.text().trim() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(self.constraint("Member must be a boolean (true or false)")),
        }
    }

    parse_number! {
        deserialize_i8 => visit_i8, "Member must be an integer",
        deserialize_i16 => visit_i16, "Member must be an integer",
        deserialize_i32 => visit_i32, "Member must be an integer",
        deserialize_i64 => visit_i64, "Member must be an integer",
        deserialize_u8 => visit_u8, "Member must be an integer",
        deserialize_u16 => visit_u16, "Member must be an integer",
        deserialize_u32 => visit_u32, "Member must be an integer",
        deserialize_u64 => visit_u64, "Member must be an integer",
        deserialize_f32 => visit_f32, "Member must be a number",
        deserialize_f64 => visit_f64, "Member must be a number",
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.el.text())
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.el.text().trim())
            .map_err(|_| self.constraint("Member must be base64"))?;
        visitor.visit_byte_buf(raw)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items = Items {
            parent: &self,
            children: self.el.children(),
            left: self.el.child_count(),
            index: 0,
        };
        visitor.visit_seq(items).map_err(|e| self.place(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let fields = Fields {
            parent: &self,
            only: None,
            children: self.el.children(),
            seen: Seen::default(),
            value: None,
        };
        visitor.visit_map(fields).map_err(|e| self.place(e))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let access = Fields {
            parent: &self,
            only: Some(fields),
            children: self.el.children(),
            seen: Seen::default(),
            value: None,
        };
        visitor.visit_map(access).map_err(|e| self.place(e))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let text = self.el.text().trim();
        if !variants.contains(&text) {
            let what = format!("Member must satisfy enum value set: [{}]", variants.join(", "));
            return Err(self.constraint(&what));
        }
        visitor.visit_enum(text.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// The children of a wrapper element, as list items.
struct Items<'q, 't, 'p> {
    parent: &'q ElementDe<'t, 'p>,
    children: Children<'t>,
    left: usize,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for Items<'_, '_, '_> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some(el) = self.children.next() else {
            return Ok(None);
        };
        self.index += 1;
        self.left -= 1;
        let path = Path::Item(&self.parent.path, self.index);
        seed.deserialize(ElementDe { el, path })
            .map(Some)
            .map_err(|e| ElementDe { el, path }.place(e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The member names a structure has read: by position among its fields (a bit each
/// for the first 64), or by name for maps and very wide structures.
#[derive(Default)]
struct Seen<'t> {
    bits: u64,
    names: Vec<&'t str>,
}

impl<'t> Seen<'t> {
    /// Records `name` (at `position` among the struct's fields, if known); false when
    /// it was already seen.
    fn insert(&mut self, name: &'t str, position: Option<usize>) -> bool {
        match position {
            Some(p) if p < 64 => {
                let fresh = self.bits & (1 << p) == 0;
                self.bits |= 1 << p;
                fresh
            }
            _ if self.names.contains(&name) => false,
            _ => {
                self.names.push(name);
                true
            }
        }
    }
}

/// The children of an element as (name, element) entries: only the named fields
/// of a struct, each name once.
struct Fields<'q, 't, 'p> {
    parent: &'q ElementDe<'t, 'p>,
    only: Option<&'static [&'static str]>,
    children: Children<'t>,
    seen: Seen<'t>,
    value: Option<Element<'t>>,
}

impl<'de> de::MapAccess<'de> for Fields<'_, '_, '_> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for el in self.children.by_ref() {
            let name = el.name();
            let position = match self.only {
                Some(fields) => match fields.iter().position(|f| *f == name) {
                    Some(p) => Some(p),
                    None => continue,
                },
                None => None,
            };
            if !self.seen.insert(name, position) {
                continue;
            }
            self.value = Some(el);
            let key: de::value::StrDeserializer<'_, DeError> = name.into_deserializer();
            return seed.deserialize(key).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let el = self
            .value
            .take()
            .ok_or_else(|| DeError::Custom("value requested before its key".into()))?;
        let placed = |e| self.parent.child(el).place(e);
        seed.deserialize(self.parent.child(el)).map_err(placed)
    }
}
