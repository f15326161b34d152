// node-postgres (`pg`) against a running audb demo server. node-postgres
// sends no parameter types, so audb infers them from the query. Run by
// tests/clients.rs: node pg_test.js PORT. Exits 1 on the first failure.
'use strict';
const { Client } = require('pg');

function check(name, ok, got) {
  if (!ok) {
    console.log(`FAIL ${name}: got ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}

async function main() {
  const client = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), user: 'audb', database: 'audb' });
  await client.connect();

  let r = await client.query('SELECT COUNT(*) AS n FROM users');
  check('simple count', r.rows[0].n === '20000', r.rows); // bigint comes back as a string

  r = await client.query('SELECT COUNT(*)::int AS n FROM users WHERE age BETWEEN $1 AND $2 AND city = $3', [18, 30, 'Shanghai']);
  const n1 = r.rows[0].n;
  r = await client.query("SELECT COUNT(*)::int AS n FROM users WHERE age BETWEEN 18 AND 30 AND city = 'Shanghai'");
  check('parameters inferred', n1 === r.rows[0].n && n1 > 0, [n1, r.rows]);

  const byOs = {
    name: 'by_os',
    text: 'SELECT device_os, COUNT(*) AS n, ROUND(AVG(ltv), 2) AS avg_ltv FROM users WHERE vip = $1 GROUP BY device_os ORDER BY n DESC',
    values: [true],
  };
  r = await client.query(byOs);
  const vipTotal = r.rows.reduce((a, row) => a + Number(row.n), 0);
  r = await client.query(byOs); // the named statement is reused: Bind/Execute only
  const again = r.rows.reduce((a, row) => a + Number(row.n), 0);
  r = await client.query('SELECT COUNT(*) AS n FROM users WHERE vip');
  check('named prepared group by', vipTotal === Number(r.rows[0].n) && again === vipTotal, [vipTotal, again, r.rows]);

  r = await client.query('SELECT user_id, ltv, register_date, last_active, interests, vip, age FROM users WHERE user_id = $1', ['u0000001']);
  const row = r.rows[0];
  check('row', row && row.user_id === 'u0000001', row);
  check('numeric as string', row.ltv === null || typeof row.ltv === 'string', row.ltv);
  check('date as Date', row.register_date === null || row.register_date instanceof Date, row.register_date);
  check('timestamptz as Date', row.last_active === null || row.last_active instanceof Date, row.last_active);
  check('text[] as array', Array.isArray(row.interests), row.interests);
  check('bool', row.vip === null || typeof row.vip === 'boolean', row.vip);
  check('int4 as number', row.age === null || typeof row.age === 'number', row.age);
  const types = r.fields.map((f) => f.dataTypeID);
  check('field type oids', JSON.stringify(types) === JSON.stringify([25, 1700, 1082, 1184, 1009, 16, 23]), types);

  r = await client.query('SELECT COUNT(*)::int AS n FROM users WHERE $1 = ANY(interests) AND register_date >= $2 AND ltv > $3',
    ['music', '2020-01-01', '10.5']);
  check('untyped parameters of several types', r.rows[0].n >= 0, r.rows);

  r = await client.query('SELECT $1::text AS a, $2::int AS b', ['x', 7]);
  check('cast parameters', r.rows[0].a === 'x' && r.rows[0].b === 7, r.rows);

  try {
    await client.query('SELECT * FROM nope WHERE x = $1', [1]);
    check('missing table raises', false, null);
  } catch (e) {
    check('SQLSTATE 42P01', e.code === '42P01', e.code);
  }

  await client.query('BEGIN');
  r = await client.query('SELECT COUNT(*) AS n FROM users WHERE churned = $1', [false]);
  await client.query('COMMIT');
  check('transaction', Number(r.rows[0].n) > 0, r.rows);

  r = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", ['public']);
  check('catalog with a parameter', r.rows.map((x) => x.table_name).includes('users'), r.rows);

  await client.end();
  console.log('all node checks passed');
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  process.exit(1);
});
