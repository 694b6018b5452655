//! Reading a parsed JSON body into a request type, strictly: an object where the type is a struct.
//!
//! serde's derived structs also accept a JSON array of their fields in order (`["u1", "1111"]` for
//! `{"user": "u1", "company": "1111"}`), and so does `serde_json`. No client means that, the OpenAPI
//! document says "object", and a contract fuzzer rightly flags a service that accepts it. So
//! [`JsonBody`](super::extract::JsonBody) parses the body into a [`Value`] (syntax errors keep
//! their line and column) and reads the request type from it through [`Strict`], which answers
//! everything as `serde_json::Value` would, except that a struct must be an object.

use serde::de::{
    self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Value};

/// A deserializer over a [`Value`] that refuses anything but an object for a struct.
pub struct Strict<'a>(pub &'a Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Strict<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Seq(items.iter())),
            Value::Object(map) => visitor.visit_map(Object {
                entries: map.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => {
                visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(s.as_str()))
            }
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Seq<'a>(std::slice::Iter<'a, Value>);

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Object<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de> MapAccess<'de> for Object<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(IntoDeserializer::<Error>::into_deserializer(key.as_str()))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("a value was read before its key"))?;
        seed.deserialize(Strict(value))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
        limit: Option<u64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Option<Inner>,
        list: Vec<String>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        ExecuteAll,
    }

    fn read<T: for<'de> Deserialize<'de>>(value: serde_json::Value) -> Result<T, Error> {
        T::deserialize(Strict(&value))
    }

    #[test]
    fn objects_read_as_serde_json_reads_them() {
        let outer: Outer =
            read(json!({"inner": {"name": "a", "limit": 3}, "list": ["x"], "kind": "execute_all"}))
                .unwrap();
        assert_eq!(outer.inner.unwrap().limit, Some(3));
        assert_eq!(outer.kind, Some(Kind::ExecuteAll));
        let outer: Outer = read(json!({"inner": null, "list": []})).unwrap();
        assert_eq!(outer.inner, None);
    }

    #[test]
    fn a_struct_given_as_an_array_is_refused() {
        let err = read::<Outer>(json!({"inner": ["a", 3], "list": []})).unwrap_err();
        assert!(err.to_string().contains("invalid type: sequence"), "{err}");
        assert!(read::<Inner>(json!(["a", null])).is_err());
    }

    #[test]
    fn unknown_and_missing_fields_and_bad_types_are_named() {
        let err = read::<Inner>(json!({"name": "a", "rol": 1})).unwrap_err();
        assert!(err.to_string().contains("unknown field `rol`"), "{err}");
        let err = read::<Inner>(json!({})).unwrap_err();
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        assert!(read::<Inner>(json!({"name": "a", "limit": -1})).is_err());
        assert!(read::<Inner>(json!({"name": "a", "limit": 1.5})).is_err());
        assert!(read::<Outer>(json!({"list": [], "kind": "other"})).is_err());
    }
}
