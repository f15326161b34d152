#!/usr/bin/env python3
"""Generates src/catalog/system/pg_proc_data.rs from a PostgreSQL 15 server:
the pg_proc rows of the functions audb has, the pg_operator rows of the
operators it has, and the pg_type I/O columns of the types in pg_type.

Usage: scripts/gen_pg_catalog_data.py [--port 54331] [--host 127.0.0.1] [--user postgres]

Every overload of a function audb implements (FUNCTIONS below) is listed,
so that name lookups (`'lower'::regproc`, ambiguous in PostgreSQL) and
`regproc` output (qualified when the name is not unique) answer as
PostgreSQL does. An operator is listed when its name is one audb implements
(OPERATORS) and its operand and result types are types audb's pg_type shows
(--types, the oids of oids::BUILTIN_TYPES). The functions named by those
types' typinput/typoutput/… and the operators' oprcode are listed too.
"""
import argparse
import subprocess

FUNCTIONS = """
abs age array_agg array_append array_cat array_length array_lower array_position array_to_string
array_upper avg bool_and bool_or btrim cardinality ceil ceiling char_length character_length
clock_timestamp col_description concat concat_ws count cume_dist current_database current_schema
current_schemas current_setting current_user date_part date_trunc dense_rank every extract
first_value floor format format_type generate_series generate_subscripts has_any_column_privilege
has_column_privilege has_database_privilege has_function_privilege has_schema_privilege
has_sequence_privilege has_table_privilege json_agg json_build_array json_build_object jsonb_agg
lag last_value lead left length lower ltrim max min mod mode now ntile obj_description
octet_length parse_ident percent_rank percentile_cont percentile_disc pg_backend_pid
pg_collation_is_visible pg_conf_load_time pg_encoding_to_char pg_function_is_visible
pg_get_constraintdef pg_get_expr pg_get_function_arguments pg_get_function_identity_arguments
pg_get_function_result pg_get_indexdef pg_get_partkeydef pg_get_ruledef pg_get_serial_sequence
pg_get_statisticsobjdef_columns pg_get_triggerdef pg_get_viewdef pg_get_userbyid pg_indexes_size
pg_postmaster_start_time pg_relation_is_publishable pg_relation_size pg_size_pretty
pg_table_is_visible pg_table_size pg_total_relation_size pg_type_is_visible pg_typeof pow power
quote_ident rank repeat replace reverse right round row_number rtrim session_user set_config
shobj_description sign split_part sqrt starts_with statement_timestamp stddev stddev_pop
stddev_samp string_agg string_to_array strpos substr substring sum texticregexeq texticregexne
textregexeq textregexne to_json to_regclass to_regnamespace to_regoper to_regoperator to_regproc
to_regprocedure to_regrole to_regtype transaction_timestamp trunc unnest upper var_pop var_samp
variance heap_tableam_handler bthandler array_subscript_handler
""".split()

OPERATORS = """
+ - * / % ^ = <> < > <= >= || ~ ~* !~ !~* ~~ !~~ ~~* !~~* & | # << >> -> ->> #> #>> @> <@ &&
""".split()


def query(args, sql):
    out = subprocess.run(
        ["psql", "-X", "-A", "-t", "-F", "\t", "-h", args.host, "-p", str(args.port), "-U",
         args.user, "-d", "postgres", "-c", sql],
        check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.split("\n") if line]


def flag(v):
    return "true" if v == "t" else "false"


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default="54331")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--types", required=True, help="comma-separated type oids of audb's pg_type")
    ap.add_argument("--out", default="src/catalog/system/pg_proc_data.rs")
    args = ap.parse_args()
    types = args.types
    typeset = {int(t) for t in types.split(",")}
    names = ",".join("'" + n + "'" for n in FUNCTIONS)
    ops = ",".join("'" + o + "'" for o in OPERATORS)
    allowed = f"(array[{types}]::oid[])"
    oprs = query(args, f"""
        select oid, oprname, oprkind, oprleft, oprright, oprresult, oprcom, oprnegate,
               oprcode::oid, oprcanmerge, oprcanhash, oprrest::oid, oprjoin::oid
        from pg_operator
        where oprnamespace = 11 and oprname in ({ops})
          and array[oprleft, oprright, oprresult] <@ (array[0::oid] || {allowed})
        order by oid""")
    opr_oids = {int(o[0]) for o in oprs}
    # A commutator or negator audb does not list is shown as 0.
    io = query(args, f"""
        select oid, typinput::oid, typoutput::oid, typreceive::oid, typsend::oid, typmodin::oid,
               typmodout::oid, typanalyze::oid, typsubscript::oid, typbyval, typalign, typstorage,
               typispreferred, typdelim, typcollation
        from pg_type where oid = any({allowed}) order by oid""")
    missing = typeset - {int(r[0]) for r in io}
    if missing:
        raise SystemExit(f"unknown type oids: {missing}")
    extra = {int(r[i]) for r in io for i in range(1, 9)}
    extra |= {int(o[i]) for o in oprs for i in (8, 11, 12)}
    extra.discard(0)
    extra_list = ",".join(str(e) for e in sorted(extra)) or "0"
    procs = query(args, f"""
        select oid, proname, prokind, proretset, proisstrict, provolatile, proparallel,
               prorettype, array_to_string(proargtypes::oid[], ','), provariadic, pronargdefaults,
               prolang, procost, prorows, prosrc
        from pg_proc
        where pronamespace = 11 and (oid in ({extra_list}) or proname in ({names}))
        order by oid""")
    out = []
    out.append("//! PostgreSQL 15's `pg_proc` rows of the functions audb has and its")
    out.append("//! `pg_operator` rows of the operators audb has (real oids), and the")
    out.append("//! `pg_type` I/O columns of the built-in types. Generated by")
    out.append("//! `scripts/gen_pg_catalog_data.py` from a PostgreSQL 15 server: edit the")
    out.append("//! script's lists and regenerate rather than editing by hand.")
    out.append("")
    out.append("use super::pg_proc::{IoRow, OprRow, ProcRow, io, opr, proc};")
    out.append("")
    out.append("/// `pg_proc` rows, by oid.")
    out.append("#[rustfmt::skip]")
    out.append("pub(super) const PROCS: &[ProcRow] = &[")
    for (oid, name, kind, retset, strict, vol, par, ret, argt, variadic, ndef, lang, cost, rows,
         src) in procs:
        a = "&[" + argt + "]"
        out.append(
            f"    proc({oid}, {rust_str(name)}, b'{kind}', {a}, {ret}, {flag(retset)}, "
            f"{flag(strict)}, b'{vol}', b'{par}', {variadic}, {ndef}, {lang}, {float(cost)!r}, "
            f"{float(rows)!r}, {rust_str(src)}),")
    out.append("];")
    out.append("")
    out.append("/// `pg_operator` rows, by oid.")
    out.append("#[rustfmt::skip]")
    out.append("pub(super) const OPERATORS: &[OprRow] = &[")
    for (oid, name, kind, left, right, res, com, neg, code, merge, hash, rest, join) in oprs:
        com = com if int(com) in opr_oids else "0"
        neg = neg if int(neg) in opr_oids else "0"
        out.append(
            f"    opr({oid}, {rust_str(name)}, b'{kind}', {left}, {right}, {res}, {com}, {neg}, "
            f"[{code}, {rest}, {join}], {flag(merge)}, {flag(hash)}),")
    out.append("];")
    out.append("")
    out.append("/// `pg_type` I/O columns of the built-in types, by oid.")
    out.append("#[rustfmt::skip]")
    out.append("pub(super) const TYPE_IO: &[IoRow] = &[")
    for (oid, tin, tout, trecv, tsend, modin, modout, analyze, subscript, byval, align, storage,
         pref, delim, coll) in io:
        out.append(
            f"    io({oid}, [{tin}, {tout}, {trecv}, {tsend}, {modin}, {modout}, {analyze}, "
            f"{subscript}], {flag(byval)}, b'{align}', b'{storage}', {flag(pref)}, "
            f"b'{delim}', {coll}),")
    out.append("];")
    open(args.out, "w").write("\n".join(out) + "\n")
    print(f"{len(procs)} functions, {len(oprs)} operators, {len(io)} types -> {args.out}")


if __name__ == "__main__":
    main()
