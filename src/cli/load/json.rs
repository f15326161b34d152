//! JSON lines input: one object per line, parsed with `serde_json`.
//!
//! Numbers are kept as the text they were written with (through
//! [`RawValue`]), so that `NUMERIC` values are parsed exactly, never
//! through an `f64`; a key that appears twice in one object is an error
//! rather than silently the last one.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON value; numbers keep their text.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object (its fields are not needed: nested objects are rejected).
    Object,
}

/// Deepest array nesting accepted (a bound on recursion).
const DEPTH_MAX: usize = 64;

/// The fields of one object in input order, values still raw.
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses a line holding one JSON object (surrounding blanks allowed).
pub fn parse_object(line: &str) -> Result<Vec<(String, Json)>, String> {
    let Fields(fields) = serde_json::from_str(line).map_err(|e| e.to_string())?;
    fields
        .into_iter()
        .map(|(k, v)| Ok((k, value(v, 0)?)))
        .collect()
}

fn value(raw: &RawValue, depth: usize) -> Result<Json, String> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'n') => Json::Null,
        Some(b't') => Json::Bool(true),
        Some(b'f') => Json::Bool(false),
        Some(b'"') => Json::String(serde_json::from_str(text).map_err(|e| e.to_string())?),
        Some(b'[') => {
            if depth >= DEPTH_MAX {
                return Err(format!("arrays nested deeper than {DEPTH_MAX}"));
            }
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| e.to_string())?;
            Json::Array(
                items
                    .into_iter()
                    .map(|i| value(i, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        Some(b'{') => Json::Object,
        _ => Json::Number(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_arrays_and_exact_numbers() {
        let f = parse_object(
            r#" {"id": "u\"1\u00e9", "n": 12345678901234567.89, "ok": true, "z": null, "tags": ["a", 1]} "#,
        )
        .expect("parse");
        assert_eq!(
            f,
            [
                ("id".to_owned(), Json::String("u\"1é".into())),
                ("n".to_owned(), Json::Number("12345678901234567.89".into())),
                ("ok".to_owned(), Json::Bool(true)),
                ("z".to_owned(), Json::Null),
                (
                    "tags".to_owned(),
                    Json::Array(vec![Json::String("a".into()), Json::Number("1".into())])
                ),
            ]
        );
    }

    #[test]
    fn duplicates_are_kept_for_the_caller_to_reject() {
        let f = parse_object(r#"{"a": 1, "a": 2}"#).expect("parse");
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn not_an_object_or_trailing_text_is_an_error() {
        assert!(parse_object("[1]").is_err());
        assert!(parse_object(r#"{"a": 1} x"#).is_err());
        assert!(parse_object(r#"{"a": }"#).is_err());
    }
}
