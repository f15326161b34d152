//! `json` values: input validation (`json_in` keeps the text as written),
//! and PostgreSQL's JSON rendering of SQL values (`datum_to_json`) for
//! `json_build_object`, `json_build_array`, `to_json` and `json_agg`.

use super::EvalContext;
use super::format::format_text;
use crate::index::encode::format_f64;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::sql::types::{DataType, Datum};

/// Validates `s` as JSON (22P02 otherwise) and keeps it as written, as
/// PostgreSQL's `json` type does.
pub(crate) fn parse_json(s: &str) -> SqlResult<String> {
    match serde_json::from_str::<serde::de::IgnoredAny>(s) {
        Ok(_) => Ok(s.to_owned()),
        Err(_) => Err(SqlError::new(
            SqlState::InvalidTextRepresentation,
            "invalid input syntax for type json",
        )),
    }
}

/// `s` as a JSON string literal, escaped as PostgreSQL's `escape_json`.
pub(crate) fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends value `d` of type `ty` as JSON: numbers and booleans bare
/// (non-finite floats quoted), `json` as is, arrays as JSON arrays,
/// dates and timestamps in ISO 8601 (`2024-01-02T03:04:05`), anything
/// else as its quoted text output.
pub(crate) fn to_json(d: &Datum, ty: DataType, ctx: &EvalContext, out: &mut String) {
    match d {
        Datum::Null => out.push_str("null"),
        Datum::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Datum::Int(v) => out.push_str(&v.to_string()),
        Datum::Numeric(n) => out.push_str(&n.to_string()),
        Datum::Float(f) if f.is_finite() => match format_text(d, ty, ctx) {
            Some(t) => out.push_str(&t),
            None => out.push_str(&format_f64(*f)),
        },
        Datum::Text(s) if ty == DataType::Json => out.push_str(s),
        Datum::TextArray(_) | Datum::Array(_) => {
            let elem = ty.element().unwrap_or(DataType::Text);
            out.push('[');
            for (i, e) in d.array_items().unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(e, elem, ctx, out);
            }
            out.push(']');
        }
        Datum::Timestamp(_) | Datum::TimestampTz(_) => {
            let t = format_text(d, ty, ctx).unwrap_or_default();
            quote(&iso_8601(&t, matches!(d, Datum::TimestampTz(_))), out);
        }
        other => quote(&format_text(other, ty, ctx).unwrap_or_default(), out),
    }
}

/// PostgreSQL's text timestamp (`2024-01-02 03:04:05+08`) in the ISO 8601
/// form JSON uses (`2024-01-02T03:04:05+08:00`).
fn iso_8601(t: &str, with_zone: bool) -> String {
    let mut s = t.replacen(' ', "T", 1);
    if with_zone {
        // A zone of whole hours prints as `+08`; JSON wants `+08:00`.
        let tail = s.rfind(['+', '-']).filter(|&i| i > 10);
        if let Some(i) = tail
            && s[i + 1..].len() == 2
        {
            s.push_str(":00");
        }
    }
    s
}

/// `json_build_object(k1, v1, …)`: `{"k1" : v1, "k2" : v2}` with
/// PostgreSQL's spacing; keys may not be NULL (22023).
pub(crate) fn build_object(
    args: &[Datum],
    types: &[DataType],
    ctx: &EvalContext,
) -> SqlResult<Datum> {
    if !args.len().is_multiple_of(2) {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            "argument list must have even number of elements",
        )
        .with_hint(
            "The arguments of json_build_object() must consist of alternating keys and values.",
        ));
    }
    let mut out = String::from("{");
    for (i, pair) in args.chunks(2).enumerate() {
        let (k, v) = (&pair[0], &pair[1]);
        let (kt, vt) = (types[2 * i], types[2 * i + 1]);
        let Some(key) = format_text(k, kt, ctx) else {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("argument {} cannot be null", 2 * i + 1),
            )
            .with_hint("Object keys should be text."));
        };
        if i > 0 {
            out.push_str(", ");
        }
        quote(&key, &mut out);
        out.push_str(" : ");
        to_json(v, vt, ctx, &mut out);
    }
    out.push('}');
    Ok(Datum::Text(out))
}

/// `json_build_array(v1, …)`: `[v1, v2]`.
pub(crate) fn build_array(args: &[Datum], types: &[DataType], ctx: &EvalContext) -> Datum {
    let mut out = String::from("[");
    for (i, (v, t)) in args.iter().zip(types).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        to_json(v, *t, ctx, &mut out);
    }
    out.push(']');
    Datum::Text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_object_uses_postgres_spacing_and_escapes() {
        let ctx = EvalContext::default();
        let args = [
            Datum::Text("a".into()),
            Datum::Int(1),
            Datum::Text("b\"".into()),
            Datum::Text("x\ny".into()),
            Datum::Text("c".into()),
            Datum::Null,
        ];
        let types = [
            DataType::Text,
            DataType::Int4,
            DataType::Text,
            DataType::Text,
            DataType::Text,
            DataType::Bool,
        ];
        assert_eq!(
            build_object(&args, &types, &ctx).unwrap(),
            Datum::Text(r#"{"a" : 1, "b\"" : "x\ny", "c" : null}"#.into())
        );
        let err = build_object(&args[..1], &types[..1], &ctx).unwrap_err();
        assert_eq!(err.state, SqlState::InvalidParameterValue);
        assert!(parse_json("{\"a\": [1, 2]}").is_ok());
        assert_eq!(
            parse_json("{bad").unwrap_err().state,
            SqlState::InvalidTextRepresentation
        );
    }
}
