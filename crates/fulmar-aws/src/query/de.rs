//! A serde `Deserializer` over the parameter tree.
//!
//! Structs read their fields from child nodes by serde name (unknown parameters
//! are skipped), sequences from `Name.member.N` or `Name.N` children in numeric
//! order, maps from `Name.entry.N.key` / `.value`, and scalars by parsing the
//! string value. Every error carries the dotted parameter path it arose at.

use super::tree::Node;
use serde::de::{self, IntoDeserializer, Visitor};
use std::fmt;

/// Why a parameter tree did not fit the input type.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeError {
    /// serde reported a missing field; the enclosing struct adds the path.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A required parameter is absent, by full parameter path.
    #[error("missing parameter {0}")]
    MissingParam(String),
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

/// Deserializes one node, known by its full parameter path.
pub(crate) struct NodeDe<'a> {
    pub(crate) node: &'a Node,
    pub(crate) path: String,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> NodeDe<'a> {
    fn child(&self, key: &str, node: &'a Node) -> NodeDe<'a> {
        NodeDe {
            node,
            path: join(&self.path, key),
        }
    }

    fn constraint(&self, what: &str) -> DeError {
        let value = self.node.value.as_deref().unwrap_or("");
        DeError::Invalid(format!(
            "Value '{value}' at '{}' failed to satisfy constraint: {what}",
            self.path
        ))
    }

    fn leaf(&self) -> Result<&'a str, DeError> {
        match &self.node.value {
            Some(v) if self.node.children.is_empty() => Ok(v),
            _ => Err(DeError::Invalid(format!(
                "Parameter '{}' must be a single value",
                self.path
            ))),
        }
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        self.leaf()?.parse().map_err(|_| self.constraint(what))
    }

    /// Gives an error raised below this node its place, if it has none yet.
    fn place(&self, err: DeError) -> DeError {
        match err {
            DeError::MissingField(f) => DeError::MissingParam(join(&self.path, f)),
            DeError::Custom(msg) if self.node.children.is_empty() => self.constraint(&msg),
            DeError::Custom(msg) => DeError::Invalid(format!("Invalid value at '{}': {msg}", self.path)),
            other => other,
        }
    }
}

macro_rules! parse_int {
    ($($method:ident => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.parse("Member must be an integer")?)
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if !self.node.children.is_empty() {
            self.deserialize_map(visitor)
        } else {
            match &self.node.value {
                Some(v) => visitor.visit_str(v),
                None => visitor.visit_unit(),
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let raw = self.leaf()?;
        if raw.eq_ignore_ascii_case("true") {
            visitor.visit_bool(true)
        } else if raw.eq_ignore_ascii_case("false") {
            visitor.visit_bool(false)
        } else {
            Err(self.constraint("Member must be a boolean (true or false)"))
        }
    }

    parse_int! {
        deserialize_i8 => visit_i8, deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32, deserialize_i64 => visit_i64,
        deserialize_u8 => visit_u8, deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32, deserialize_u64 => visit_u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f32(self.parse("Member must be a number")?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f64(self.parse("Member must be a number")?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_char(self.parse("Member must be a single character")?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.leaf()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(self.leaf()?.to_owned())
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(self.leaf()?.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_byte_buf(self.leaf()?.as_bytes().to_vec())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items = self
            .node
            .list_items()
            .ok_or_else(|| DeError::Invalid(format!("Parameter '{}' must be a list", self.path)))?;
        let access = Items {
            items: items.into_iter(),
            parent: &self,
        };
        visitor.visit_seq(access).map_err(|e| self.place(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let entries: Vec<(String, Option<&Node>, Option<&Node>, String)> = match self.node.children.get("entry") {
            Some(entry) => entry
                .numbered()
                .into_iter()
                .map(|(k, n)| {
                    let at = format!("entry.{k}");
                    let key = n.children.get("key");
                    (String::new(), key, n.children.get("value"), at)
                })
                .collect(),
            None => self
                .node
                .children
                .iter()
                .map(|(k, n)| (k.clone(), None, Some(n), k.clone()))
                .collect(),
        };
        let access = Fields {
            entries: entries.into_iter(),
            pending: None,
            parent: &self,
        };
        visitor.visit_map(access).map_err(|e| self.place(e))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let entries: Vec<_> = self
            .node
            .children
            .iter()
            .filter(|(k, _)| fields.contains(&k.as_str()))
            .map(|(k, n)| (k.clone(), None, Some(n), k.clone()))
            .collect();
        let access = Fields {
            entries: entries.into_iter(),
            pending: None,
            parent: &self,
        };
        visitor.visit_map(access).map_err(|e| self.place(e))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let raw = self.leaf()?;
        if !variants.contains(&raw) {
            return Err(self.constraint(&format!(
                "Member must satisfy enum value set: [{}]",
                variants.join(", ")
            )));
        }
        visitor.visit_enum(raw.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// The elements of a list node.
struct Items<'p, 'a, I> {
    items: I,
    parent: &'p NodeDe<'a>,
}

impl<'de, 'p, 'a, I: Iterator<Item = (String, &'a Node)>> de::SeqAccess<'de> for Items<'p, 'a, I> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((key, node)) => {
                let de = self.parent.child(&key, node);
                let placed = NodeDe {
                    node,
                    path: de.path.clone(),
                };
                seed.deserialize(de).map(Some).map_err(|e| placed.place(e))
            }
        }
    }
}

/// Struct fields or map entries: `(name, key node, value node, relative path)`.
/// A key node, when present, supplies the key (maps in `entry.N` form);
/// otherwise the name is the key.
type Entry<'a> = (String, Option<&'a Node>, Option<&'a Node>, String);

struct Fields<'p, 'a, I> {
    entries: I,
    pending: Option<(Option<&'a Node>, String)>,
    parent: &'p NodeDe<'a>,
}

impl<'de, 'p, 'a, I: Iterator<Item = Entry<'a>>> de::MapAccess<'de> for Fields<'p, 'a, I> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some((name, key_node, value_node, at)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((value_node, at.clone()));
        let key = match key_node {
            Some(node) => {
                let de = self.parent.child(&format!("{at}.key"), node);
                let placed = NodeDe {
                    node,
                    path: de.path.clone(),
                };
                return seed.deserialize(de).map(Some).map_err(|e| placed.place(e));
            }
            None if at.starts_with("entry.") => {
                return Err(DeError::MissingParam(join(&self.parent.path, &format!("{at}.key"))));
            }
            None => name,
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (value_node, at) = self
            .pending
            .take()
            .ok_or_else(|| DeError::Custom("value requested before its key".into()))?;
        let is_entry = at.starts_with("entry.");
        let at = if is_entry { format!("{at}.value") } else { at };
        let Some(node) = value_node else {
            return Err(DeError::MissingParam(join(&self.parent.path, &at)));
        };
        let de = self.parent.child(&at, node);
        let placed = NodeDe {
            node,
            path: de.path.clone(),
        };
        seed.deserialize(de).map_err(|e| placed.place(e))
    }
}
