//! COPY options: the modern `WITH (FORMAT csv, HEADER true, …)` list and the
//! legacy `WITH CSV HEADER DELIMITER ','` words psql and old drivers send,
//! checked the way PostgreSQL checks them.

use crate::sql::error::{SqlError, SqlResult, SqlState};
use sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption};

/// The data format of a COPY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyFormat {
    /// PostgreSQL's text format: tab-separated, backslash escapes, `\N`.
    Text,
    /// CSV with PostgreSQL's quoting rules.
    Csv,
    /// PostgreSQL's binary format: a signature and header, then per tuple
    /// a field count and length-prefixed binary values.
    Binary,
}

/// Resolved options of one COPY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    /// Text, CSV or binary.
    pub format: CopyFormat,
    /// Field separator (one byte): tab for text, `,` for CSV by default.
    pub delimiter: u8,
    /// The NULL marker: `\N` for text, the empty (unquoted) string for CSV.
    pub null: String,
    /// A header line: skipped on input, written on output.
    pub header: bool,
    /// CSV quote byte (`"`).
    pub quote: u8,
    /// CSV escape byte inside quotes (defaults to the quote).
    pub escape: u8,
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            format: CopyFormat::Text,
            delimiter: b'\t',
            null: "\\N".into(),
            header: false,
            quote: b'"',
            escape: b'"',
        }
    }
}

/// What the statement said, before defaults.
#[derive(Default)]
struct Given {
    format: Option<CopyFormat>,
    delimiter: Option<char>,
    null: Option<String>,
    header: Option<bool>,
    quote: Option<char>,
    escape: Option<char>,
}

fn redundant() -> SqlError {
    SqlError::syntax("conflicting or redundant options")
}

fn set<T>(slot: &mut Option<T>, v: T) -> SqlResult<()> {
    if slot.is_some() {
        return Err(redundant());
    }
    *slot = Some(v);
    Ok(())
}

fn one_byte(c: char, what: &str) -> SqlResult<u8> {
    u8::try_from(c).ok().filter(u8::is_ascii).ok_or_else(|| {
        SqlError::new(
            SqlState::FeatureNotSupported,
            format!("COPY {what} must be a single one-byte character"),
        )
    })
}

impl CopyOptions {
    /// Resolves and checks the options of a COPY statement.
    pub fn from_ast(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> SqlResult<CopyOptions> {
        let mut g = Given::default();
        for o in options {
            match o {
                CopyOption::Format(name) => {
                    let f = match name.value.to_ascii_lowercase().as_str() {
                        "text" => CopyFormat::Text,
                        "csv" => CopyFormat::Csv,
                        "binary" => CopyFormat::Binary,
                        other => {
                            return Err(SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!("COPY format \"{other}\" not recognized"),
                            ));
                        }
                    };
                    set(&mut g.format, f)?;
                }
                CopyOption::Freeze(_) => {}
                CopyOption::Delimiter(c) => set(&mut g.delimiter, *c)?,
                CopyOption::Null(s) => set(&mut g.null, s.clone())?,
                CopyOption::Header(h) => set(&mut g.header, *h)?,
                CopyOption::Quote(c) => set(&mut g.quote, *c)?,
                CopyOption::Escape(c) => set(&mut g.escape, *c)?,
                CopyOption::Encoding(e) => check_encoding(e)?,
                CopyOption::ForceQuote(_)
                | CopyOption::ForceNotNull(_)
                | CopyOption::ForceNull(_) => {
                    return Err(SqlError::unsupported(format!("COPY option {o}")));
                }
            }
        }
        for o in legacy {
            match o {
                CopyLegacyOption::Binary => set(&mut g.format, CopyFormat::Binary)?,
                CopyLegacyOption::Delimiter(c) => set(&mut g.delimiter, *c)?,
                CopyLegacyOption::Null(s) => set(&mut g.null, s.clone())?,
                CopyLegacyOption::Header => set(&mut g.header, true)?,
                CopyLegacyOption::Csv(csv) => {
                    set(&mut g.format, CopyFormat::Csv)?;
                    for c in csv {
                        match c {
                            CopyLegacyCsvOption::Header => set(&mut g.header, true)?,
                            CopyLegacyCsvOption::Quote(q) => set(&mut g.quote, *q)?,
                            CopyLegacyCsvOption::Escape(e) => set(&mut g.escape, *e)?,
                            other => {
                                return Err(SqlError::unsupported(format!("COPY option {other}")));
                            }
                        }
                    }
                }
                other => return Err(SqlError::unsupported(format!("COPY option {other}"))),
            }
        }
        g.resolve()
    }
}

fn check_encoding(e: &str) -> SqlResult<()> {
    let norm: String = e
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if norm == "utf8" || norm == "unicode" {
        Ok(())
    } else {
        Err(SqlError::unsupported(format!(
            "COPY ENCODING '{e}' (audb reads and writes UTF8 only)"
        )))
    }
}

impl Given {
    /// PostgreSQL's refusals of text-format options in binary mode.
    fn check_binary(&self) -> SqlResult<()> {
        let cannot = |what: &str, state| {
            Err(SqlError::new(
                state,
                format!("cannot specify {what} in BINARY mode"),
            ))
        };
        if self.delimiter.is_some() {
            return cannot("DELIMITER", SqlState::SyntaxError);
        }
        if self.null.is_some() {
            return cannot("NULL", SqlState::SyntaxError);
        }
        if self.header == Some(true) {
            return cannot("HEADER", SqlState::FeatureNotSupported);
        }
        Ok(())
    }

    fn resolve(self) -> SqlResult<CopyOptions> {
        let format = self.format.unwrap_or(CopyFormat::Text);
        let csv = format == CopyFormat::Csv;
        if format == CopyFormat::Binary {
            self.check_binary()?;
        }
        let delimiter = match self.delimiter {
            Some(c) => one_byte(c, "delimiter")?,
            None if csv => b',',
            None => b'\t',
        };
        let null = self
            .null
            .unwrap_or_else(|| if csv { String::new() } else { "\\N".into() });
        if !csv && (self.quote.is_some() || self.escape.is_some()) {
            let what = if self.quote.is_some() {
                "quote"
            } else {
                "escape"
            };
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("COPY {what} available only in CSV mode"),
            ));
        }
        let quote = match self.quote {
            Some(c) => one_byte(c, "quote")?,
            None => b'"',
        };
        let escape = match self.escape {
            Some(c) => one_byte(c, "escape")?,
            None => quote,
        };
        if matches!(delimiter, b'\n' | b'\r') {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "COPY delimiter cannot be newline or carriage return",
            ));
        }
        if null.contains(['\n', '\r']) {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "COPY null representation cannot use newline or carriage return",
            ));
        }
        if !csv && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&delimiter) {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("COPY delimiter cannot be \"{}\"", delimiter as char),
            ));
        }
        if csv && delimiter == quote {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "COPY delimiter and quote must be different",
            ));
        }
        if csv && null.as_bytes().contains(&delimiter) {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "COPY delimiter must not appear in the NULL specification",
            ));
        }
        if csv && null.as_bytes().contains(&quote) {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "CSV quote character must not appear in the NULL specification",
            ));
        }
        Ok(CopyOptions {
            format,
            delimiter,
            null,
            header: self.header.unwrap_or(false),
            quote,
            escape,
        })
    }
}
