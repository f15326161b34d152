//! `CREATE ROLE` / `CREATE USER`, `ALTER ROLE` / `ALTER USER` and
//! `DROP ROLE` / `DROP USER`, on the role catalog ([`crate::catalog::roles`]).
//!
//! Only superusers manage roles; any role may change its own password.
//! Supported options: `LOGIN` / `NOLOGIN`, `SUPERUSER` / `NOSUPERUSER`,
//! `PASSWORD 'x'` / `PASSWORD NULL`, `INHERIT` / `NOINHERIT` (accepted, no
//! effect: audb has no role membership) and the negative privilege options
//! `NOCREATEDB`, `NOCREATEROLE`, `NOREPLICATION`, `NOBYPASSRLS`; other
//! options fail with `0A000`.
//!
//! A password is stored as a SCRAM-SHA-256 verifier; when the session's
//! `password_encryption` is `md5` (the server sets it when MD5
//! authentication is configured), PostgreSQL's MD5 hash is stored too. A
//! password given already hashed (a SCRAM verifier or an `md5…` hash, as
//! `pg_dumpall` writes them) is stored as it is. Renaming a role clears its
//! MD5 hash (the user name salts it), as in PostgreSQL.

use crate::catalog::roles::{self, RoleDef, SUPERUSER_NAME, ScramVerifier};
use crate::db::Session;
use crate::sql::error::{SqlError, SqlResult, SqlState};
use crate::storage::Store;
use sqlparser::ast::{
    AlterRoleOperation, CreateRole, CreateUser, Expr, Ident, ObjectName, ObjectNamePart, Password,
    RoleOption, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

/// What a `PASSWORD` clause sets.
enum NewPassword {
    /// `PASSWORD NULL` (or `''`): no password.
    Clear,
    /// A password (or an already hashed one).
    Set(String),
}

/// The options a statement gives, each `None` when absent.
#[derive(Default)]
struct Options {
    login: Option<bool>,
    superuser: Option<bool>,
    password: Option<NewPassword>,
}

/// An identifier as PostgreSQL folds it: quoted as written, else lower case.
fn fold_ident(id: &Ident) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => id.value.to_lowercase(),
    }
}

fn role_name(name: &ObjectName) -> SqlResult<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Ok(fold_ident(id)),
        _ => Err(SqlError::syntax(format!("invalid role name \"{name}\""))),
    }
}

fn password(p: &Password) -> SqlResult<NewPassword> {
    match p {
        Password::NullPassword => Ok(NewPassword::Clear),
        Password::Password(Expr::Value(v)) => match &v.value {
            Value::Null => Ok(NewPassword::Clear),
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) if s.is_empty() => {
                Ok(NewPassword::Clear)
            }
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => {
                Ok(NewPassword::Set(s.clone()))
            }
            other => Err(SqlError::syntax(format!(
                "syntax error at or near \"{other}\": a password is a string literal"
            ))),
        },
        Password::Password(e) => Err(SqlError::syntax(format!(
            "syntax error at or near \"{e}\": a password is a string literal"
        ))),
    }
}

fn unsupported(option: &str) -> SqlError {
    SqlError::new(
        SqlState::FeatureNotSupported,
        format!("role option {option} is not supported by audb"),
    )
}

fn options_of(list: &[RoleOption]) -> SqlResult<Options> {
    let mut o = Options::default();
    for opt in list {
        match opt {
            RoleOption::Login(b) => o.login = Some(*b),
            RoleOption::SuperUser(b) => o.superuser = Some(*b),
            RoleOption::Password(p) => o.password = Some(password(p)?),
            RoleOption::Inherit(_)
            | RoleOption::CreateDB(false)
            | RoleOption::CreateRole(false)
            | RoleOption::Replication(false)
            | RoleOption::BypassRLS(false) => {}
            other => return Err(unsupported(&other.to_string())),
        }
    }
    Ok(o)
}

fn create_options(cr: &CreateRole) -> SqlResult<Options> {
    let flag_on = [
        (cr.create_db, "CREATEDB"),
        (cr.create_role, "CREATEROLE"),
        (cr.replication, "REPLICATION"),
        (cr.bypassrls, "BYPASSRLS"),
    ];
    if let Some((_, name)) = flag_on.iter().find(|(f, _)| *f == Some(true)) {
        return Err(unsupported(name));
    }
    if cr.connection_limit.is_some() {
        return Err(unsupported("CONNECTION LIMIT"));
    }
    if cr.valid_until.is_some() {
        return Err(unsupported("VALID UNTIL"));
    }
    if !(cr.in_role.is_empty()
        && cr.in_group.is_empty()
        && cr.role.is_empty()
        && cr.user.is_empty()
        && cr.admin.is_empty())
    {
        return Err(unsupported("IN ROLE / ROLE / ADMIN"));
    }
    Ok(Options {
        login: cr.login,
        superuser: cr.superuser,
        password: cr.password.as_ref().map(password).transpose()?,
    })
}

/// Whether the session's user is a superuser.
fn is_superuser(store: &Store, session: &Session) -> bool {
    roles::role(&store.snapshot(), &session.user).is_some_and(|r| r.superuser)
}

fn require_superuser(store: &Store, session: &Session, action: &str) -> SqlResult<()> {
    if is_superuser(store, session) {
        Ok(())
    } else {
        Err(SqlError::new(
            SqlState::InsufficientPrivilege,
            format!("permission denied to {action}"),
        ))
    }
}

fn does_not_exist(name: &str) -> SqlError {
    SqlError::new(
        SqlState::UndefinedObject,
        format!("role \"{name}\" does not exist"),
    )
}

/// Sets the password fields of `role` from `p`.
fn apply_password(role: &mut RoleDef, p: NewPassword, session: &Session) -> SqlResult<()> {
    role.scram = None;
    role.md5 = None;
    let NewPassword::Set(text) = p else {
        return Ok(());
    };
    if ScramVerifier::parse(&text).is_some() {
        role.scram = Some(text);
    } else if roles::is_md5_hash(&text) {
        role.md5 = Some(text);
    } else {
        role.scram = Some(roles::scram_verifier(&text).ok_or_else(|| {
            SqlError::new(
                SqlState::IoError,
                "could not generate a random salt for the password",
            )
        })?);
        let md5 = session
            .settings
            .get("password_encryption")
            .is_some_and(|v| v.eq_ignore_ascii_case("md5"));
        if md5 {
            role.md5 = Some(roles::md5_hash(&role.name, &text));
        }
    }
    Ok(())
}

fn create_role(
    store: &Store,
    session: &Session,
    name: String,
    if_not_exists: bool,
    o: Options,
    login_default: bool,
) -> SqlResult<String> {
    require_superuser(store, session, "create role")?;
    let snapshot = store.snapshot();
    if roles::role(&snapshot, &name).is_some() {
        if if_not_exists {
            return Ok("CREATE ROLE".into());
        }
        return Err(SqlError::new(
            SqlState::DuplicateObject,
            format!("role \"{name}\" already exists"),
        ));
    }
    let mut role = RoleDef {
        oid: roles::next_oid(&snapshot),
        superuser: o.superuser.unwrap_or(false),
        login: o.login.unwrap_or(login_default),
        scram: None,
        md5: None,
        name,
    };
    if let Some(p) = o.password {
        apply_password(&mut role, p, session)?;
    }
    roles::put_role(store, &role.name, Some(&role))?;
    Ok("CREATE ROLE".into())
}

/// `CREATE ROLE` (and `CREATE GROUP`): no login unless `LOGIN`.
pub fn create(store: &Store, session: &Session, cr: &CreateRole) -> SqlResult<String> {
    let o = create_options(cr)?;
    for n in &cr.names {
        let name = role_name(n)?;
        create_role(
            store,
            session,
            name,
            cr.if_not_exists,
            Options {
                login: o.login,
                superuser: o.superuser,
                password: match &o.password {
                    None => None,
                    Some(NewPassword::Clear) => Some(NewPassword::Clear),
                    Some(NewPassword::Set(s)) => Some(NewPassword::Set(s.clone())),
                },
            },
            false,
        )?;
    }
    Ok("CREATE ROLE".into())
}

/// `CREATE USER name` without options (parsed as sqlparser's generic
/// `CREATE USER`): a role that may log in.
pub fn create_user(store: &Store, session: &Session, cu: &CreateUser) -> SqlResult<String> {
    if !cu.options.options.is_empty() || !cu.tags.options.is_empty() || cu.or_replace {
        return Err(SqlError::syntax(format!(
            "syntax error in \"{cu}\": CREATE USER takes PostgreSQL role options"
        )));
    }
    let o = Options {
        login: Some(true),
        ..Options::default()
    };
    create_role(
        store,
        session,
        fold_ident(&cu.name),
        cu.if_not_exists,
        o,
        true,
    )
}

/// `ALTER ROLE name …`.
pub fn alter(
    store: &Store,
    session: &Session,
    name: &Ident,
    op: &AlterRoleOperation,
) -> SqlResult<String> {
    let name = fold_ident(name);
    let snapshot = store.snapshot();
    let Some(mut role) = roles::role(&snapshot, &name) else {
        return Err(does_not_exist(&name));
    };
    match op {
        AlterRoleOperation::RenameRole { role_name } => {
            require_superuser(store, session, "rename role")?;
            let new = fold_ident(role_name);
            if name == SUPERUSER_NAME || name == session.user {
                return Err(SqlError::new(
                    SqlState::FeatureNotSupported,
                    if name == session.user {
                        "session user cannot be renamed".to_owned()
                    } else {
                        format!("role \"{name}\" is built in and cannot be renamed")
                    },
                ));
            }
            if roles::role(&snapshot, &new).is_some() {
                return Err(SqlError::new(
                    SqlState::DuplicateObject,
                    format!("role \"{new}\" already exists"),
                ));
            }
            role.name = new.clone();
            role.md5 = None;
            roles::put_role(store, &new, Some(&role))?;
            roles::put_role(store, &name, None)?;
        }
        AlterRoleOperation::WithOptions { options } => {
            let o = options_of(options)?;
            let own_password_only =
                name == session.user && o.login.is_none() && o.superuser.is_none();
            if !own_password_only {
                require_superuser(store, session, "alter role")?;
            }
            if name == SUPERUSER_NAME && (o.login == Some(false) || o.superuser == Some(false)) {
                return Err(SqlError::new(
                    SqlState::FeatureNotSupported,
                    "the built-in superuser audb keeps LOGIN and SUPERUSER",
                ));
            }
            if let Some(l) = o.login {
                role.login = l;
            }
            if let Some(s) = o.superuser {
                role.superuser = s;
            }
            if let Some(p) = o.password {
                apply_password(&mut role, p, session)?;
            }
            roles::put_role(store, &name, Some(&role))?;
        }
        other => return Err(unsupported(&other.to_string())),
    }
    Ok("ALTER ROLE".into())
}

/// `DROP ROLE [IF EXISTS] name, …`; a missing name under `IF EXISTS` adds
/// PostgreSQL's NOTICE to `session.notices`.
pub fn drop(
    store: &Store,
    session: &mut Session,
    if_exists: bool,
    names: &[ObjectName],
) -> SqlResult<String> {
    require_superuser(store, session, "drop role")?;
    for n in names {
        let name = role_name(n)?;
        let snapshot = store.snapshot();
        if roles::role(&snapshot, &name).is_none() {
            if if_exists {
                session
                    .notices
                    .push(format!("role \"{name}\" does not exist, skipping"));
                continue;
            }
            return Err(does_not_exist(&name));
        }
        if name == SUPERUSER_NAME {
            return Err(SqlError::new(
                SqlState::ObjectNotInPrerequisiteState,
                format!("cannot drop role {name} because it is required by the database system"),
            ));
        }
        if name == session.user {
            return Err(SqlError::new(
                SqlState::ObjectNotInPrerequisiteState,
                "current user cannot be dropped",
            ));
        }
        roles::put_role(store, &name, None)?;
    }
    Ok("DROP ROLE".into())
}

/// The byte offset of a 1-based line/column location in `sql`.
/// The byte offset of a tokenizer location (1-based line and column).
pub(super) fn byte_offset(sql: &str, line: u64, column: u64) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += sql[start..].find('\n')? + 1;
    }
    let col = usize::try_from(column).ok()?.checked_sub(1)?;
    let rest = &sql[start..];
    match rest.char_indices().nth(col) {
        Some((b, _)) => Some(start + b),
        None if rest.chars().count() == col => Some(sql.len()),
        None => None,
    }
}

/// The `CREATE USER` statements of `sql` rewritten as `CREATE ROLE … LOGIN`
/// (keeping an explicit `LOGIN` / `NOLOGIN`), or `None` if there is none.
/// sqlparser reads `CREATE USER` with Snowflake's syntax, so PostgreSQL's
/// options only parse once rewritten. The text is edited in place (string
/// literals stay as written).
pub fn rewrite_create_user(sql: &str) -> Option<String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let tokens: Vec<_> = tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let word = |k: usize, kw: Keyword| {
        tokens
            .get(k)
            .is_some_and(|t| matches!(&t.token, Token::Word(w) if w.keyword == kw))
    };
    // (start, end) byte ranges to replace, with their replacement.
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    let mut start = true;
    for k in 0..tokens.len() {
        if start
            && word(k, Keyword::CREATE)
            && word(k + 1, Keyword::USER)
            && !word(k + 2, Keyword::MAPPING)
        {
            let end = (k + 2..tokens.len())
                .find(|&m| tokens[m].token == Token::SemiColon)
                .unwrap_or(tokens.len());
            let explicit =
                (k + 2..end).any(|m| word(m, Keyword::LOGIN) || word(m, Keyword::NOLOGIN));
            let user = &tokens[k + 1].span;
            let from = byte_offset(sql, user.start.line, user.start.column)?;
            let to = byte_offset(sql, user.end.line, user.end.column)?;
            edits.push((from, to, "ROLE"));
            if !explicit && end > k + 2 {
                let last = &tokens[end - 1].span;
                let at = byte_offset(sql, last.end.line, last.end.column)?;
                edits.push((at, at, " LOGIN"));
            }
        }
        start = tokens[k].token == Token::SemiColon;
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut pos = 0;
    for (from, to, text) in edits {
        out.push_str(sql.get(pos..from)?);
        out.push_str(text);
        pos = to;
    }
    out.push_str(sql.get(pos..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::rewrite_create_user;

    #[test]
    fn create_user_becomes_create_role_login() {
        assert_eq!(
            rewrite_create_user("create user bob with password 'it''s';SELECT 1").as_deref(),
            Some("create ROLE bob with password 'it''s' LOGIN;SELECT 1")
        );
        assert_eq!(
            rewrite_create_user("CREATE USER dave NOLOGIN").as_deref(),
            Some("CREATE ROLE dave NOLOGIN")
        );
        assert_eq!(rewrite_create_user("SELECT 'create user x'"), None);
        assert_eq!(
            rewrite_create_user("CREATE USER MAPPING FOR x SERVER s"),
            None
        );
    }
}
