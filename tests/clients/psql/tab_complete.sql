-- psql 15 tab completion (captured with log_statement=all): column names
-- after `SELECT * FROM users WHERE `, `ORDER BY ci`, settings after `SET `,
-- database names after `\c `.
-- expect: age
SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.attname) LIKE '%' AND c.relname = 'users' AND pg_catalog.pg_table_is_visible(c.oid)
	LIMIT 1000;

-- expect: city
SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.attname) LIKE 'ci%' AND c.relname = 'users' AND pg_catalog.pg_table_is_visible(c.oid)
	LIMIT 1000;

-- expect: application_name
SELECT pg_catalog.lower(name) FROM pg_catalog.pg_settings  WHERE context IN ('user', 'superuser')    AND pg_catalog.lower(name) LIKE pg_catalog.lower('%')
	LIMIT 1000;

-- expect: audb
SELECT datname FROM pg_catalog.pg_database  WHERE datname LIKE '%'
	LIMIT 1000;
