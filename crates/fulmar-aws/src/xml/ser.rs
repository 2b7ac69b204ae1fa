//! A serde `Serializer` that writes a value as XML elements.
//!
//! Each value is written as an element named by its serde name (struct field,
//! variant): scalars as escaped text, structs as nested elements, `None` not at
//! all, sequences as `<name><{item}>..</{item}>..</name>` with the flavour's item
//! name (`member` or `item`; for rest-xml the serde name of the item's type, so a
//! `Vec<HostedZone>` yields `<HostedZone>` items and a list of strings is a list of
//! named newtypes such as `struct NameServer(String)`) and `<name/>` when empty, maps as
//! `<entry><key>..</key><value>..</value></entry>`. The top-level value has no
//! element of its own: a struct contributes only its fields.

use serde::ser::{self, Serialize};
use std::fmt::Display;
use std::fmt::Write as _;

/// Why a value could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SerError(pub(crate) String);

impl ser::Error for SerError {
    fn custom<T: Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

/// How the elements of a sequence are named.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Items {
    /// One fixed name for every item: `member` (query) or `item` (ec2).
    Named(&'static str),
    /// The serde name of the item's type (rest-xml): a struct's or newtype's name.
    ByType,
}

/// Writes one value as the element `name` (or bare, at the top level).
pub(crate) struct ElementSer<'o> {
    pub(crate) out: &'o mut String,
    pub(crate) name: Option<&'static str>,
    /// The element name of list items.
    pub(crate) item: Items,
    /// This value is a list item whose element is named by its type.
    pub(crate) by_type: bool,
}

impl<'o> ElementSer<'o> {
    fn open(&mut self) {
        if let Some(n) = self.name {
            self.out.push('<');
            self.out.push_str(n);
            self.out.push('>');
        }
    }

    fn close(&mut self) {
        if let Some(n) = self.name {
            self.out.push_str("</");
            self.out.push_str(n);
            self.out.push('>');
        }
    }

    fn text(mut self, value: impl Display) -> Result<(), SerError> {
        if self.by_type {
            return Err(SerError(format!(
                "a list item '{value}' has no element name: wrap it in a named newtype"
            )));
        }
        self.open();
        // Formatted straight into the document, escaped on the way (no String per value).
        let _ = write!(super::Escaping(self.out), "{value}");
        self.close();
        Ok(())
    }

    fn child(&mut self, name: &'static str) -> ElementSer<'_> {
        ElementSer {
            out: self.out,
            name: Some(name),
            item: self.item,
            by_type: false,
        }
    }

    /// The element of one list item.
    fn item(&mut self) -> ElementSer<'_> {
        let (name, by_type) = match self.item {
            Items::Named(n) => (Some(n), false),
            Items::ByType => (None, true),
        };
        ElementSer {
            out: self.out,
            name,
            item: self.item,
            by_type,
        }
    }

    /// Takes the element name from the type, for a list item named by type.
    fn named_by(mut self, type_name: &'static str) -> Self {
        if self.by_type {
            self.name = Some(type_name);
            self.by_type = false;
        }
        self
    }

    fn container(mut self, wrapper: Option<&'static str>) -> Container<'o> {
        let start = self.out.len();
        self.open();
        if let Some(w) = wrapper {
            self.out.push('<');
            self.out.push_str(w);
            self.out.push('>');
        }
        Container {
            start,
            empty: true,
            wrapper,
            inner: self,
        }
    }
}

/// A struct, sequence or map being written; an empty sequence or map collapses to
/// `<name/>`.
pub(crate) struct Container<'o> {
    start: usize,
    empty: bool,
    wrapper: Option<&'static str>,
    inner: ElementSer<'o>,
}

impl<'o> Container<'o> {
    fn element<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), SerError> {
        self.empty = false;
        value.serialize(self.inner.child(name))
    }

    fn end(mut self, collapse_empty: bool) -> Result<(), SerError> {
        if collapse_empty && self.empty && self.wrapper.is_none() {
            if let Some(n) = self.inner.name {
                self.inner.out.truncate(self.start);
                self.inner.out.push('<');
                self.inner.out.push_str(n);
                self.inner.out.push_str("/>");
                return Ok(());
            }
        }
        if let Some(w) = self.wrapper {
            self.inner.out.push_str("</");
            self.inner.out.push_str(w);
            self.inner.out.push('>');
        }
        self.inner.close();
        Ok(())
    }
}

impl<'o> ser::Serializer for ElementSer<'o> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Container<'o>;
    type SerializeTuple = Container<'o>;
    type SerializeTupleStruct = Container<'o>;
    type SerializeTupleVariant = Container<'o>;
    type SerializeMap = Container<'o>;
    type SerializeStruct = Container<'o>;
    type SerializeStructVariant = Container<'o>;

    fn serialize_bool(self, v: bool) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_char(self, v: char) -> Result<(), SerError> {
        self.text(v)
    }
    fn serialize_str(mut self, v: &str) -> Result<(), SerError> {
        if self.by_type {
            return self.text(v);
        }
        // Escaped straight into the document, without the formatting machinery.
        self.open();
        super::escape_into(self.out, v);
        self.close();
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), SerError> {
        use base64::Engine as _;
        self.text(base64::engine::general_purpose::STANDARD.encode(v))
    }
    fn serialize_none(self) -> Result<(), SerError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), SerError> {
        if let Some(n) = self.name {
            self.out.push('<');
            self.out.push_str(n);
            self.out.push_str("/>");
        }
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), SerError> {
        self.named_by(name).serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), SerError> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), SerError> {
        value.serialize(self.named_by(name))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        let mut c = self.container(None);
        c.element(variant, value)?;
        c.end(false)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Container<'o>, SerError> {
        Ok(self.container(None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Container<'o>, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Container<'o>, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Container<'o>, SerError> {
        Ok(self.container(Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Container<'o>, SerError> {
        Ok(self.container(None))
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Container<'o>, SerError> {
        Ok(self.named_by(name).container(None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Container<'o>, SerError> {
        Ok(self.container(Some(variant)))
    }
}

impl ser::SerializeSeq for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.empty = false;
        value.serialize(self.inner.item())
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, true)
    }
}

impl ser::SerializeTuple for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, true)
    }
}

impl ser::SerializeTupleStruct for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, true)
    }
}

impl ser::SerializeTupleVariant for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, false)
    }
}

impl ser::SerializeMap for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        self.empty = false;
        self.inner.out.push_str("<entry>");
        key.serialize(self.inner.child("key"))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        value.serialize(self.inner.child("value"))?;
        self.inner.out.push_str("</entry>");
        Ok(())
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, true)
    }
}

impl ser::SerializeStruct for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), SerError> {
        self.element(key, value)
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, false)
    }
}

impl ser::SerializeStructVariant for Container<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), SerError> {
        self.element(key, value)
    }
    fn end(self) -> Result<(), SerError> {
        Container::end(self, false)
    }
}
