//! `regtypein`: a type name as PostgreSQL's parser reads it — SQL
//! spellings (`integer`, `character varying(20)`, `double precision`,
//! `timestamp(3) with time zone`), `typname`s (`int4`, `_int4`), quoted
//! names (`"char"`), `pg_catalog.` qualification and `[]` array suffixes —
//! resolved against the built-in types.

use super::functions::parse_ident;
use super::oids::{self, BUILTIN_TYPES};
use crate::sql::error::{SqlError, SqlResult, SqlState};

/// The oid of type name `s`; 42704 when there is no such type.
pub fn type_oid(s: &str) -> SqlResult<i64> {
    type_lookup(s)?.ok_or_else(|| {
        SqlError::new(
            SqlState::UndefinedObject,
            format!("type \"{}\" does not exist", s.trim()),
        )
    })
}

/// The oid of type name `s` (`Ok(None)`: no such type; errors for bad
/// syntax and unknown schemas).
pub fn type_lookup(s: &str) -> SqlResult<Option<i64>> {
    let syntax = || {
        SqlError::new(
            SqlState::SyntaxError,
            format!("syntax error in type name \"{}\"", s.trim()),
        )
    };
    let mut t = s.trim();
    let mut dims = 0;
    while let Some(head) = t.strip_suffix(']') {
        let open = head.rfind('[').ok_or_else(syntax)?;
        if !head[open + 1..].trim().bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        t = head[..open].trim_end();
        dims += 1;
    }
    let Some(base) = base_type(t, &syntax)? else {
        return Ok(None);
    };
    if dims == 0 {
        return Ok(Some(base));
    }
    Ok(oids::builtin_type(base)
        .map(|b| b.array)
        .filter(|a| *a != 0))
}

/// A name without array suffix.
fn base_type(t: &str, syntax: &dyn Fn() -> SqlError) -> SqlResult<Option<i64>> {
    if t.contains('"') {
        let parts = parse_ident(t, true).map_err(|_| syntax())?;
        return match parts.as_slice() {
            [name] => Ok(by_typname(name)),
            [schema, name] => qualified(schema, name),
            _ => Err(syntax()),
        };
    }
    // Unquoted: fold case, drop type modifiers, one space between words.
    let mut plain = String::with_capacity(t.len());
    let mut modifier: Option<String> = None;
    let mut depth = 0;
    for c in t.chars() {
        match c {
            '(' => {
                depth += 1;
                modifier.get_or_insert_with(String::new);
            }
            ')' if depth > 0 => depth -= 1,
            ')' => return Err(syntax()),
            c if depth > 0 => {
                if let Some(m) = modifier.as_mut() {
                    m.push(c);
                }
            }
            c => plain.extend(c.to_lowercase()),
        }
    }
    if depth != 0 {
        return Err(syntax());
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let joined = words.join(" ");
    if let Some((schema, name)) = joined.split_once('.') {
        if words.len() != 1 || name.contains('.') {
            return Err(syntax());
        }
        return qualified(schema, name);
    }
    let precision = modifier
        .as_deref()
        .and_then(|m| m.trim().parse::<u32>().ok());
    let name = match joined.as_str() {
        "int" | "integer" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "float" if precision.is_some_and(|p| p <= 24) => "float4",
        "float" | "double precision" => "float8",
        "boolean" => "bool",
        "decimal" | "dec" => "numeric",
        "character varying"
        | "char varying"
        | "national character varying"
        | "national char varying"
        | "nchar varying" => "varchar",
        "character" | "char" | "national character" | "national char" | "nchar" => "bpchar",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        other if words.len() == 1 => other,
        _ => return Err(syntax()),
    };
    Ok(by_typname(name))
}

fn by_typname(name: &str) -> Option<i64> {
    BUILTIN_TYPES.iter().find(|t| t.name == name).map(|t| t.oid)
}

/// `schema.name`: only `pg_catalog` holds types (3F000 for an unknown
/// schema).
fn qualified(schema: &str, name: &str) -> SqlResult<Option<i64>> {
    if oids::namespace_oid(schema).is_none() {
        return Err(SqlError::new(
            SqlState::InvalidSchemaName,
            format!("schema \"{schema}\" does not exist"),
        ));
    }
    Ok((schema == "pg_catalog").then(|| by_typname(name)).flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_postgres_accepts() {
        let ty = |s: &str| type_lookup(s).ok().flatten();
        for (s, oid) in [
            ("integer", 23),
            ("INT", 23),
            ("int4", 23),
            ("pg_catalog.int4", 23),
            ("character varying", 1043),
            ("character varying(20)", 1043),
            ("varchar", 1043),
            ("timestamp with time zone", 1184),
            ("timestamp(3)  with time zone", 1184),
            ("double precision", 701),
            ("float(3)", 700),
            ("float", 701),
            ("numeric(10,2)", 1700),
            ("\"char\"", 18),
            ("char", 1042),
            ("pg_catalog.\"char\"", 18),
            ("int4[]", 1007),
            ("integer [ ]", 1007),
            ("int[3][]", 1007),
            ("_int4", 1007),
            ("\"any\"", 2276),
        ] {
            assert_eq!(ty(s), Some(oid), "{s}");
        }
        assert_eq!(ty("\"integer\""), None);
        assert_eq!(ty("public.int4"), None);
        assert_eq!(ty("nosuch"), None);
        let code = |s: &str| type_lookup(s).map_err(|e| e.state.code());
        assert_eq!(code("nosuch.int4"), Err("3F000"));
        assert_eq!(code("int4 int4"), Err("42601"));
        assert_eq!(type_oid("nosuch").map_err(|e| e.state.code()), Err("42704"));
    }
}
