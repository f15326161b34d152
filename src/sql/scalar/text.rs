//! Text helpers with PostgreSQL's behaviour: `text[]` input and output
//! (`array_in`/`array_out`), and `LIKE`/`ILIKE` matching.

use crate::sql::error::{SqlError, SqlResult, SqlState};

fn malformed(text: &str, detail: &str) -> SqlError {
    SqlError::new(
        SqlState::InvalidTextRepresentation,
        format!("malformed array literal: \"{text}\""),
    )
    .with_detail(detail)
}

/// Parses a one-dimensional `text[]` literal as PostgreSQL's `array_in`:
/// `{a,b,"c d",NULL}`; unquoted `NULL` (any case) is a NULL element;
/// whitespace around unquoted elements is dropped; `\` escapes. Nested
/// (multidimensional) arrays are 0A000.
pub fn parse_text_array(text: &str) -> SqlResult<Vec<Option<String>>> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let Some(body) = t.strip_prefix('{') else {
        return Err(malformed(
            text,
            "Array value must start with \"{\" or dimension information.",
        ));
    };
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if chars.get(i) == Some(&'}') {
        i += 1;
        skip_ws(&mut i);
        if i != chars.len() {
            return Err(malformed(text, "Junk after closing right brace."));
        }
        return Ok(out);
    }
    loop {
        skip_ws(&mut i);
        let mut elem = String::new();
        let mut quoted = false;
        let mut saw_any = false;
        // Unquoted trailing whitespace is dropped, but not escaped whitespace.
        let mut keep_len = 0;
        loop {
            let Some(&c) = chars.get(i) else {
                return Err(malformed(text, "Unexpected end of input."));
            };
            match c {
                '"' => {
                    if saw_any && !quoted {
                        return Err(malformed(text, "Unexpected array element."));
                    }
                    quoted = true;
                    saw_any = true;
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(malformed(text, "Unexpected end of input.")),
                            Some('"') => break,
                            Some('\\') => {
                                i += 1;
                                match chars.get(i) {
                                    Some(&e) => elem.push(e),
                                    None => {
                                        return Err(malformed(text, "Unexpected end of input."));
                                    }
                                }
                            }
                            Some(&e) => elem.push(e),
                        }
                        i += 1;
                    }
                    i += 1;
                    keep_len = elem.len();
                }
                '\\' => {
                    i += 1;
                    match chars.get(i) {
                        Some(&e) => elem.push(e),
                        None => return Err(malformed(text, "Unexpected end of input.")),
                    }
                    saw_any = true;
                    keep_len = elem.len();
                    i += 1;
                }
                '{' => {
                    return Err(SqlError::unsupported("multidimensional arrays"));
                }
                ',' | '}' => break,
                c => {
                    if quoted && !c.is_ascii_whitespace() {
                        return Err(malformed(text, "Unexpected array element."));
                    }
                    elem.push(c);
                    if !c.is_ascii_whitespace() {
                        saw_any = true;
                        keep_len = elem.len();
                    }
                    i += 1;
                }
            }
        }
        elem.truncate(keep_len);
        if !saw_any {
            let what = chars.get(i).copied().unwrap_or('}');
            return Err(malformed(
                text,
                &format!("Unexpected \"{what}\" character."),
            ));
        }
        if !quoted && elem.eq_ignore_ascii_case("null") {
            out.push(None);
        } else {
            out.push(Some(elem));
        }
        let end = chars.get(i) == Some(&'}');
        i += 1;
        if end {
            skip_ws(&mut i);
            if i != chars.len() {
                return Err(malformed(text, "Junk after closing right brace."));
            }
            return Ok(out);
        }
    }
}

/// Formats a `text[]` as PostgreSQL's `array_out`: `{a,b,"x y",NULL}`;
/// elements are quoted when empty, `NULL`-like, or containing `{},"\` or
/// whitespace.
pub fn format_text_array(items: &[Option<String>]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            None => out.push_str("NULL"),
            Some(s) => {
                let quote = s.is_empty()
                    || s.eq_ignore_ascii_case("null")
                    || s.chars().any(|c| {
                        matches!(c, '{' | '}' | ',' | '"' | '\\')
                            || matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
                    });
                if quote {
                    out.push('"');
                    for c in s.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                } else {
                    out.push_str(s);
                }
            }
        }
    }
    out.push('}');
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Lit(char),
    One,
    Many,
}

/// Compiles a LIKE pattern with escape character `escape` (`None`: no escape).
fn compile(pattern: &str, escape: Option<char>, fold: bool) -> SqlResult<Vec<Tok>> {
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        if Some(c) == escape {
            match it.next() {
                Some(n) => toks.push(Tok::Lit(fold_char(n, fold))),
                None => {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        "LIKE pattern must not end with escape character",
                    ));
                }
            }
        } else if c == '%' {
            if toks.last() != Some(&Tok::Many) {
                toks.push(Tok::Many);
            }
        } else if c == '_' {
            toks.push(Tok::One);
        } else {
            toks.push(Tok::Lit(fold_char(c, fold)));
        }
    }
    Ok(toks)
}

fn fold_char(c: char, fold: bool) -> char {
    if fold {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

/// Resolves an `ESCAPE` clause: empty disables escaping, one character is
/// the escape, more is 22025-like `invalid escape string`.
pub(crate) fn like_escape(escape: Option<&str>) -> SqlResult<Option<char>> {
    match escape {
        None => Ok(Some('\\')),
        Some(e) => {
            let mut cs = e.chars();
            match (cs.next(), cs.next()) {
                (None, _) => Ok(None),
                (Some(c), None) => Ok(Some(c)),
                _ => Err(
                    SqlError::new(SqlState::InvalidParameterValue, "invalid escape string")
                        .with_hint("Escape string must be empty or one character."),
                ),
            }
        }
    }
}

/// Whether `text` matches the LIKE `pattern` (`%` any run, `_` one
/// character); `case_insensitive` for ILIKE.
pub(crate) fn like(
    text: &str,
    pattern: &str,
    escape: Option<char>,
    case_insensitive: bool,
) -> SqlResult<bool> {
    let toks = compile(pattern, escape, case_insensitive)?;
    let s: Vec<char> = text
        .chars()
        .map(|c| fold_char(c, case_insensitive))
        .collect();
    // Greedy wildcard matching with one backtrack point per `%`.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match toks.get(pi) {
            Some(Tok::Lit(c)) if *c == s[si] => {
                si += 1;
                pi += 1;
            }
            Some(Tok::One) => {
                si += 1;
                pi += 1;
            }
            Some(Tok::Many) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(toks[pi..].iter().all(|t| *t == Tok::Many))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_parse_like_postgres() {
        let v = parse_text_array(r#"{a, b ,"x y",NULL,"NULL",\"q}"#).unwrap();
        assert_eq!(
            v,
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("x y".into()),
                None,
                Some("NULL".into()),
                Some("\"q".into())
            ]
        );
        assert_eq!(parse_text_array(" { } ").unwrap(), vec![]);
        assert!(parse_text_array("a,b").is_err());
        assert!(parse_text_array("{a,}").is_err());
        assert!(parse_text_array("{a").is_err());
        assert!(parse_text_array("{a}x").is_err());
    }

    #[test]
    fn array_output_quotes_when_needed() {
        let v = vec![
            Some("a".to_owned()),
            Some("x y".to_owned()),
            None,
            Some(String::new()),
            Some("null".to_owned()),
            Some("q\"".to_owned()),
        ];
        assert_eq!(format_text_array(&v), r#"{a,"x y",NULL,"","null","q\""}"#);
        assert_eq!(format_text_array(&[]), "{}");
    }

    #[test]
    fn like_handles_wildcards_and_escapes() {
        let m = |t: &str, p: &str| like(t, p, Some('\\'), false).unwrap();
        assert!(m("abc", "a%"));
        assert!(m("abc", "%c"));
        assert!(m("abc", "_b_"));
        assert!(!m("abc", "_b"));
        assert!(m("a%c", "a\\%c"));
        assert!(!m("abc", "a\\%c"));
        assert!(m("", "%"));
        assert!(m("mississippi", "%iss%ppi"));
        assert!(like("ABC", "a%", Some('\\'), true).unwrap());
        assert!(like("abc", "a\\", Some('\\'), false).is_err());
    }
}
