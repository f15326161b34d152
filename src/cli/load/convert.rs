//! Input text (a CSV field, a JSON scalar) → stored [`Value`]s and [`Key`]s,
//! with PostgreSQL's input rules and error messages, and the storage limits
//! checked up front so that a bad row is caught (and can be skipped) before
//! it reaches the bulk load.

use audb::index::encode::{
    f32_to_ordered, f64_to_ordered, parse_date, parse_f32, parse_f64, parse_numeric,
    parse_timestamp, parse_timestamptz,
};
use audb::index::{ColumnType, Key, KeyType, Value};
use audb::sql::scalar::parse_text_array;
use audb::storage::limits::{KEY_BYTES_MAX, SET_VALUES_MAX, VALUE_BYTES_MAX};

/// One input cell before conversion.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL (unquoted empty CSV field, JSON `null`, missing JSON key).
    Null,
    /// Text to parse with the column type's input rules.
    Text(&'a str),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON array of strings (for `TEXT[]`).
    List(Vec<String>),
}

/// Converts the key cell.
pub fn key(cell: &Cell<'_>, ty: KeyType, column: &str) -> Result<Key, String> {
    let text = match cell {
        Cell::Null => return Err(format!("the key column {column} is NULL")),
        Cell::Text(t) => *t,
        Cell::Bool(_) | Cell::List(_) => {
            return Err(format!(
                "the key column {column} must be a string or a number"
            ));
        }
    };
    match ty {
        KeyType::Text => {
            if text.len() > KEY_BYTES_MAX {
                return Err(format!(
                    "key of {} bytes exceeds the limit of {KEY_BYTES_MAX} bytes",
                    text.len()
                ));
            }
            Ok(Key::Text(text.to_owned()))
        }
        KeyType::BigInt => text.trim().parse::<i64>().map(Key::Int).map_err(|_| {
            format!("invalid input syntax for type bigint: \"{text}\" (column {column})")
        }),
    }
}

/// Converts one tag cell of a column of type `ty`.
pub fn value(cell: &Cell<'_>, ty: ColumnType, column: &str) -> Result<Option<Value>, String> {
    let with_column = |m: String| format!("{m} (column {column})");
    let v = match (cell, ty) {
        (Cell::Null, _) => return Ok(None),
        (Cell::Bool(b), ColumnType::Boolean) => Value::Bool(*b),
        (Cell::Bool(b), _) => {
            return value(&Cell::Text(if *b { "true" } else { "false" }), ty, column);
        }
        (Cell::List(items), ColumnType::TextArray) => set(items.clone()).map_err(with_column)?,
        (Cell::List(_), _) => {
            return Err(with_column(format!("an array is not a value of type {ty}")));
        }
        (Cell::Text(t), ty) => parse(t, ty).map_err(with_column)?,
    };
    if let Value::Text(s) = &v
        && s.len() > VALUE_BYTES_MAX
    {
        return Err(with_column(format!(
            "value of {} bytes exceeds the limit of {VALUE_BYTES_MAX} bytes",
            s.len()
        )));
    }
    Ok(Some(v))
}

fn set(items: Vec<String>) -> Result<Value, String> {
    if items.len() > SET_VALUES_MAX {
        return Err(format!("more than {SET_VALUES_MAX} values in one array"));
    }
    if let Some(long) = items.iter().find(|s| s.len() > VALUE_BYTES_MAX) {
        return Err(format!(
            "array element of {} bytes exceeds the limit of {VALUE_BYTES_MAX} bytes",
            long.len()
        ));
    }
    Ok(Value::text_set(items))
}

/// PostgreSQL's input function of `ty` applied to `text`.
fn parse(text: &str, ty: ColumnType) -> Result<Value, String> {
    let int = |name: &str, lo: i64, hi: i64| -> Result<Value, String> {
        let t = text.trim();
        let v: i64 = t
            .parse()
            .map_err(|_| format!("invalid input syntax for type {name}: \"{text}\""))?;
        if (lo..=hi).contains(&v) {
            Ok(Value::Int(v))
        } else {
            Err(format!("value \"{text}\" is out of range for type {name}"))
        }
    };
    let e = |e: audb::index::encode::EncodeError| e.to_string();
    Ok(match ty {
        ColumnType::Boolean => Value::Bool(parse_bool(text)?),
        ColumnType::Text => Value::Text(text.to_owned()),
        ColumnType::TextArray => {
            let items = parse_text_array(text).map_err(|e| e.message)?;
            let items: Option<Vec<String>> = items.into_iter().collect();
            set(items.ok_or("NULL elements are not allowed in a TEXT[] tag")?)?
        }
        ColumnType::SmallInt => int("smallint", i16::MIN.into(), i16::MAX.into())?,
        ColumnType::Int => int("integer", i32::MIN.into(), i32::MAX.into())?,
        ColumnType::BigInt => int("bigint", i64::MIN, i64::MAX)?,
        ColumnType::Numeric { precision, scale } => {
            Value::Int(parse_numeric(text, precision, scale).map_err(e)?)
        }
        ColumnType::Real => Value::Int(f32_to_ordered(parse_f32(text).map_err(e)?)),
        ColumnType::Double => Value::Int(f64_to_ordered(parse_f64(text).map_err(e)?)),
        ColumnType::Date => Value::Int(parse_date(text).map_err(e)?),
        ColumnType::Timestamp => Value::Int(parse_timestamp(text).map_err(e)?),
        ColumnType::TimestampTz => Value::Int(parse_timestamptz(text, 0).map_err(e)?),
        other => return Err(format!("loading columns of type {other} is not supported")),
    })
}

/// PostgreSQL's `boolin`: `t`, `true`, `y`, `yes`, `on`, `1` and their
/// negations, any case, unique prefixes allowed, surrounding blanks ignored.
fn parse_bool(text: &str) -> Result<bool, String> {
    let t = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !t.is_empty() && word.starts_with(t.as_str());
    match t.as_str() {
        "1" | "on" => return Ok(true),
        "0" | "off" => return Ok(false),
        _ => {}
    }
    if prefix_of("true") || prefix_of("yes") {
        Ok(true)
    } else if prefix_of("false") || prefix_of("no") {
        Ok(false)
    } else {
        Err(format!("invalid input syntax for type boolean: \"{text}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_postgres_input_rules() {
        for t in ["t", "TRUE", " yes ", "on", "1", "y"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for t in ["f", "False", "no", "off", "0", "n"] {
            assert_eq!(parse_bool(t), Ok(false), "{t}");
        }
        assert!(parse_bool("o").is_err());
        assert!(parse_bool("").is_err());
    }

    #[test]
    fn integers_are_range_checked_with_postgres_messages() {
        let err = value(&Cell::Text("99999999999"), ColumnType::Int, "age").unwrap_err();
        assert_eq!(
            err,
            "value \"99999999999\" is out of range for type integer (column age)"
        );
        let err = value(&Cell::Text("abc"), ColumnType::Int, "age").unwrap_err();
        assert!(
            err.starts_with("invalid input syntax for type integer"),
            "{err}"
        );
        assert_eq!(
            value(&Cell::Text(" 42 "), ColumnType::Int, "age"),
            Ok(Some(Value::Int(42)))
        );
    }

    #[test]
    fn text_arrays_accept_literals_and_lists() {
        let v = value(&Cell::Text("{b,a,\"c d\"}"), ColumnType::TextArray, "i");
        assert_eq!(v, Ok(Some(Value::text_set(["a", "b", "c d"]))));
        let v = value(&Cell::List(vec!["x".into()]), ColumnType::TextArray, "i");
        assert_eq!(v, Ok(Some(Value::text_set(["x"]))));
        assert!(value(&Cell::Text("{a,NULL}"), ColumnType::TextArray, "i").is_err());
    }

    #[test]
    fn null_key_is_rejected() {
        assert!(key(&Cell::Null, KeyType::Text, "user_id").is_err());
        assert_eq!(
            key(&Cell::Text("7"), KeyType::BigInt, "id"),
            Ok(Key::Int(7))
        );
    }
}
