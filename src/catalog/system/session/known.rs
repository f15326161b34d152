//! The configuration parameters PostgreSQL 15 has (`pg_settings` plus
//! the hidden `is_superuser`), so `SET` and `set_config` know which names
//! exist, what type their values have, whether a session may change them,
//! and the value `current_setting` shows when the session has none.
//!
//! One parameter per line of [`TABLE`]:
//! `name|type|context|unit|min|max|enum values|default`, as PostgreSQL 15's
//! `pg_settings` lists them (defaults as `SHOW` prints them; host-specific
//! ones replaced by audb's).

use std::collections::HashMap;
use std::sync::LazyLock;

/// A parameter's value type (`pg_settings.vartype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `on` / `off`.
    Bool,
    /// A whole number, maybe with a unit.
    Integer,
    /// A floating-point number, maybe with a unit.
    Real,
    /// One of a list of words.
    Enum,
    /// Any text (some have their own checks).
    String,
}

/// Who may change a parameter when (`pg_settings.context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Fixed when the server was built or initialised.
    Internal,
    /// Only at server start.
    Postmaster,
    /// Only in the configuration file.
    Sighup,
    /// Only at connection start.
    Backend,
    /// Any session (`user`), or a superuser's session (`superuser`,
    /// `superuser-backend`): audb's sessions are superusers.
    Session,
}

/// One parameter.
#[derive(Clone, Copy, Debug)]
pub struct Known {
    /// The name as PostgreSQL spells it (`DateStyle`).
    pub name: &'static str,
    /// Its value type.
    pub kind: Kind,
    /// When it may change.
    pub context: Context,
    /// Its base unit (`ms`, `kB`, …; empty: none).
    pub unit: &'static str,
    /// The smallest value (numbers; empty otherwise).
    pub min: &'static str,
    /// The largest value (numbers; empty otherwise).
    pub max: &'static str,
    /// The allowed values (enums), comma-separated.
    pub values: &'static str,
    /// The value shown when nothing set it.
    pub default: &'static str,
}

/// The parameter named `name` (any case).
pub fn lookup(name: &str) -> Option<&'static Known> {
    KNOWN.get(name.to_ascii_lowercase().as_str())
}

static KNOWN: LazyLock<HashMap<String, Known>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter_map(parse_line)
        .map(|k| (k.name.to_ascii_lowercase(), k))
        .collect()
});

fn parse_line(line: &'static str) -> Option<Known> {
    let mut f = line.split('|');
    let name = f.next()?;
    let kind = match f.next()? {
        "bool" => Kind::Bool,
        "integer" => Kind::Integer,
        "real" => Kind::Real,
        "enum" => Kind::Enum,
        _ => Kind::String,
    };
    let context = match f.next()? {
        "internal" => Context::Internal,
        "postmaster" => Context::Postmaster,
        "sighup" => Context::Sighup,
        "backend" => Context::Backend,
        _ => Context::Session,
    };
    Some(Known {
        name,
        kind,
        context,
        unit: f.next()?,
        min: f.next()?,
        max: f.next()?,
        values: f.next()?,
        default: f.next()?,
    })
}

/// PostgreSQL 15's parameters, one a line.
const TABLE: &str = r#"allow_in_place_tablespaces|bool|superuser|||||off
allow_system_table_mods|bool|superuser|||||off
application_name|string|user|||||
archive_cleanup_command|string|sighup|||||
archive_command|string|sighup|||||(disabled)
archive_library|string|sighup|||||
archive_mode|enum|postmaster||||always,on,off|off
archive_timeout|integer|sighup|s|0|1073741823||0
array_nulls|bool|user|||||on
authentication_timeout|integer|sighup|s|1|600||1min
autovacuum|bool|sighup|||||on
autovacuum_analyze_scale_factor|real|sighup||0|100||0.1
autovacuum_analyze_threshold|integer|sighup||0|2147483647||50
autovacuum_freeze_max_age|integer|postmaster||100000|2000000000||200000000
autovacuum_max_workers|integer|postmaster||1|262143||3
autovacuum_multixact_freeze_max_age|integer|postmaster||10000|2000000000||400000000
autovacuum_naptime|integer|sighup|s|1|2147483||1min
autovacuum_vacuum_cost_delay|real|sighup|ms|-1|100||2ms
autovacuum_vacuum_cost_limit|integer|sighup||-1|10000||-1
autovacuum_vacuum_insert_scale_factor|real|sighup||0|100||0.2
autovacuum_vacuum_insert_threshold|integer|sighup||-1|2147483647||1000
autovacuum_vacuum_scale_factor|real|sighup||0|100||0.2
autovacuum_vacuum_threshold|integer|sighup||0|2147483647||50
autovacuum_work_mem|integer|sighup|kB|-1|2147483647||-1
backend_flush_after|integer|user|8kB|0|256||0
backslash_quote|enum|user||||safe_encoding,on,off|safe_encoding
backtrace_functions|string|superuser|||||
bgwriter_delay|integer|sighup|ms|10|10000||200ms
bgwriter_flush_after|integer|sighup|8kB|0|256||512kB
bgwriter_lru_maxpages|integer|sighup||0|1073741823||100
bgwriter_lru_multiplier|real|sighup||0|10||2
block_size|integer|internal||8192|8192||8192
bonjour|bool|postmaster|||||off
bonjour_name|string|postmaster|||||
bytea_output|enum|user||||escape,hex|hex
check_function_bodies|bool|user|||||on
checkpoint_completion_target|real|sighup||0|1||0.9
checkpoint_flush_after|integer|sighup|8kB|0|256||256kB
checkpoint_timeout|integer|sighup|s|30|86400||5min
checkpoint_warning|integer|sighup|s|0|2147483647||30s
client_connection_check_interval|integer|user|ms|0|2147483647||0
client_encoding|string|user|||||UTF8
client_min_messages|enum|user||||debug5,debug4,debug3,debug2,debug1,log,notice,warning,error|notice
cluster_name|string|postmaster|||||
commit_delay|integer|superuser||0|100000||0
commit_siblings|integer|user||0|1000||5
compute_query_id|enum|superuser||||auto,regress,on,off|auto
config_file|string|postmaster|||||
constraint_exclusion|enum|user||||partition,on,off|partition
cpu_index_tuple_cost|real|user||0|1.79769e+308||0.005
cpu_operator_cost|real|user||0|1.79769e+308||0.0025
cpu_tuple_cost|real|user||0|1.79769e+308||0.01
cursor_tuple_fraction|real|user||0|1||0.1
data_checksums|bool|internal|||||off
data_directory|string|postmaster|||||
data_directory_mode|integer|internal||0|511||
data_sync_retry|bool|postmaster|||||off
DateStyle|string|user|||||ISO, MDY
db_user_namespace|bool|sighup|||||off
deadlock_timeout|integer|superuser|ms|1|2147483647||1s
debug_assertions|bool|internal|||||off
debug_discard_caches|integer|superuser||0|0||0
debug_pretty_print|bool|user|||||on
debug_print_parse|bool|user|||||off
debug_print_plan|bool|user|||||off
debug_print_rewritten|bool|user|||||off
default_statistics_target|integer|user||1|10000||100
default_table_access_method|string|user|||||heap
default_tablespace|string|user|||||
default_text_search_config|string|user|||||pg_catalog.simple
default_toast_compression|enum|user||||pglz,lz4|pglz
default_transaction_deferrable|bool|user|||||off
default_transaction_isolation|enum|user||||serializable,repeatable read,read committed,read uncommitted|read committed
default_transaction_read_only|bool|user|||||off
dynamic_library_path|string|superuser|||||$libdir
dynamic_shared_memory_type|enum|postmaster||||posix,sysv,mmap|posix
effective_cache_size|integer|user|8kB|1|2147483647||4GB
effective_io_concurrency|integer|user||0|1000||1
enable_async_append|bool|user|||||on
enable_bitmapscan|bool|user|||||on
enable_gathermerge|bool|user|||||on
enable_hashagg|bool|user|||||on
enable_hashjoin|bool|user|||||on
enable_incremental_sort|bool|user|||||on
enable_indexonlyscan|bool|user|||||on
enable_indexscan|bool|user|||||on
enable_material|bool|user|||||on
enable_memoize|bool|user|||||on
enable_mergejoin|bool|user|||||on
enable_nestloop|bool|user|||||on
enable_parallel_append|bool|user|||||on
enable_parallel_hash|bool|user|||||on
enable_partition_pruning|bool|user|||||on
enable_partitionwise_aggregate|bool|user|||||off
enable_partitionwise_join|bool|user|||||off
enable_seqscan|bool|user|||||on
enable_sort|bool|user|||||on
enable_tidscan|bool|user|||||on
escape_string_warning|bool|user|||||on
event_source|string|postmaster|||||PostgreSQL
exit_on_error|bool|user|||||off
extension_destdir|string|superuser|||||
external_pid_file|string|postmaster|||||
extra_float_digits|integer|user||-15|3||1
force_parallel_mode|enum|user||||off,on,regress|off
from_collapse_limit|integer|user||1|2147483647||8
fsync|bool|sighup|||||on
full_page_writes|bool|sighup|||||on
geqo|bool|user|||||on
geqo_effort|integer|user||1|10||5
geqo_generations|integer|user||0|2147483647||0
geqo_pool_size|integer|user||0|2147483647||0
geqo_seed|real|user||0|1||0
geqo_selection_bias|real|user||1.5|2||2
geqo_threshold|integer|user||2|2147483647||12
gin_fuzzy_search_limit|integer|user||0|2147483647||0
gin_pending_list_limit|integer|user|kB|64|2147483647||4MB
hash_mem_multiplier|real|user||1|1000||2
hba_file|string|postmaster|||||
hot_standby|bool|postmaster|||||on
hot_standby_feedback|bool|sighup|||||off
huge_page_size|integer|postmaster|kB|0|2147483647||0
huge_pages|enum|postmaster||||off,on,try|try
ident_file|string|postmaster|||||
idle_in_transaction_session_timeout|integer|user|ms|0|2147483647||0
idle_session_timeout|integer|user|ms|0|2147483647||0
ignore_checksum_failure|bool|superuser|||||off
ignore_invalid_pages|bool|postmaster|||||off
ignore_system_indexes|bool|backend|||||off
in_hot_standby|bool|internal|||||off
integer_datetimes|bool|internal|||||on
IntervalStyle|enum|user||||postgres,postgres_verbose,sql_standard,iso_8601|postgres
is_superuser|bool|internal|||||on
jit|bool|user|||||on
jit_above_cost|real|user||-1|1.79769e+308||100000
jit_debugging_support|bool|superuser-backend|||||off
jit_dump_bitcode|bool|superuser|||||off
jit_expressions|bool|user|||||on
jit_inline_above_cost|real|user||-1|1.79769e+308||500000
jit_optimize_above_cost|real|user||-1|1.79769e+308||500000
jit_profiling_support|bool|superuser-backend|||||off
jit_provider|string|postmaster|||||llvmjit
jit_tuple_deforming|bool|user|||||on
join_collapse_limit|integer|user||1|2147483647||8
krb_caseins_users|bool|sighup|||||off
krb_server_keyfile|string|sighup|||||
lc_collate|string|internal|||||C
lc_ctype|string|internal|||||C
lc_messages|string|superuser|||||C
lc_monetary|string|user|||||C
lc_numeric|string|user|||||C
lc_time|string|user|||||C
listen_addresses|string|postmaster|||||
lo_compat_privileges|bool|superuser|||||off
local_preload_libraries|string|user|||||
lock_timeout|integer|user|ms|0|2147483647||0
log_autovacuum_min_duration|integer|sighup|ms|-1|2147483647||10min
log_checkpoints|bool|sighup|||||on
log_connections|bool|superuser-backend|||||off
log_destination|string|sighup|||||stderr
log_directory|string|sighup|||||
log_disconnections|bool|superuser-backend|||||off
log_duration|bool|superuser|||||off
log_error_verbosity|enum|superuser||||terse,default,verbose|default
log_executor_stats|bool|superuser|||||off
log_file_mode|integer|sighup||0|511||0600
log_filename|string|sighup|||||postgresql-%Y-%m-%d_%H%M%S.log
log_hostname|bool|sighup|||||off
log_line_prefix|string|sighup|||||%m [%p] 
log_lock_waits|bool|superuser|||||off
log_min_duration_sample|integer|superuser|ms|-1|2147483647||-1
log_min_duration_statement|integer|superuser|ms|-1|2147483647||-1
log_min_error_statement|enum|superuser||||debug5,debug4,debug3,debug2,debug1,info,notice,warning,error,log,fatal,panic|error
log_min_messages|enum|superuser||||debug5,debug4,debug3,debug2,debug1,info,notice,warning,error,log,fatal,panic|warning
log_parameter_max_length|integer|superuser|B|-1|1073741823||-1
log_parameter_max_length_on_error|integer|user|B|-1|1073741823||0
log_parser_stats|bool|superuser|||||off
log_planner_stats|bool|superuser|||||off
log_recovery_conflict_waits|bool|sighup|||||off
log_replication_commands|bool|superuser|||||off
log_rotation_age|integer|sighup|min|0|35791394||1d
log_rotation_size|integer|sighup|kB|0|2097151||10MB
log_startup_progress_interval|integer|sighup|ms|0|2147483647||10s
log_statement|enum|superuser||||none,ddl,mod,all|none
log_statement_sample_rate|real|superuser||0|1||1
log_statement_stats|bool|superuser|||||off
log_temp_files|integer|superuser|kB|-1|2147483647||-1
log_timezone|string|sighup|||||UTC
log_transaction_sample_rate|real|superuser||0|1||0
log_truncate_on_rotation|bool|sighup|||||off
logging_collector|bool|postmaster|||||off
logical_decoding_work_mem|integer|user|kB|64|2147483647||64MB
maintenance_io_concurrency|integer|user||0|1000||10
maintenance_work_mem|integer|user|kB|1024|2147483647||64MB
max_connections|integer|postmaster||1|262143||100
max_files_per_process|integer|postmaster||64|2147483647||1000
max_function_args|integer|internal||100|100||100
max_identifier_length|integer|internal||63|63||63
max_index_keys|integer|internal||32|32||32
max_locks_per_transaction|integer|postmaster||10|2147483647||64
max_logical_replication_workers|integer|postmaster||0|262143||4
max_parallel_maintenance_workers|integer|user||0|1024||2
max_parallel_workers|integer|user||0|1024||8
max_parallel_workers_per_gather|integer|user||0|1024||2
max_pred_locks_per_page|integer|sighup||0|2147483647||2
max_pred_locks_per_relation|integer|sighup||-2147483648|2147483647||-2
max_pred_locks_per_transaction|integer|postmaster||10|2147483647||64
max_prepared_transactions|integer|postmaster||0|262143||0
max_replication_slots|integer|postmaster||0|262143||10
max_slot_wal_keep_size|integer|sighup|MB|-1|2147483647||-1
max_stack_depth|integer|superuser|kB|100|2147483647||2MB
max_standby_archive_delay|integer|sighup|ms|-1|2147483647||30s
max_standby_streaming_delay|integer|sighup|ms|-1|2147483647||30s
max_sync_workers_per_subscription|integer|sighup||0|262143||2
max_wal_senders|integer|postmaster||0|262143||10
max_wal_size|integer|sighup|MB|2|2147483647||1GB
max_worker_processes|integer|postmaster||0|262143||8
min_dynamic_shared_memory|integer|postmaster|MB|0|2147483647||0
min_parallel_index_scan_size|integer|user|8kB|0|715827882||512kB
min_parallel_table_scan_size|integer|user|8kB|0|715827882||8MB
min_wal_size|integer|sighup|MB|2|2147483647||80MB
old_snapshot_threshold|integer|postmaster|min|-1|86400||-1
parallel_leader_participation|bool|user|||||on
parallel_setup_cost|real|user||0|1.79769e+308||1000
parallel_tuple_cost|real|user||0|1.79769e+308||0.1
password_encryption|enum|user||||md5,scram-sha-256|scram-sha-256
plan_cache_mode|enum|user||||auto,force_generic_plan,force_custom_plan|auto
port|integer|postmaster||1|65535||5433
post_auth_delay|integer|backend|s|0|2147||0
pre_auth_delay|integer|sighup|s|0|60||0
primary_conninfo|string|sighup|||||
primary_slot_name|string|sighup|||||
promote_trigger_file|string|sighup|||||
quote_all_identifiers|bool|user|||||off
random_page_cost|real|user||0|1.79769e+308||4
recovery_end_command|string|sighup|||||
recovery_init_sync_method|enum|sighup||||fsync,syncfs|fsync
recovery_min_apply_delay|integer|sighup|ms|0|2147483647||0
recovery_prefetch|enum|sighup||||off,on,try|try
recovery_target|string|postmaster|||||
recovery_target_action|enum|postmaster||||pause,promote,shutdown|pause
recovery_target_inclusive|bool|postmaster|||||on
recovery_target_lsn|string|postmaster|||||
recovery_target_name|string|postmaster|||||
recovery_target_time|string|postmaster|||||
recovery_target_timeline|string|postmaster|||||latest
recovery_target_xid|string|postmaster|||||
recursive_worktable_factor|real|user||0.001|1e+06||10
remove_temp_files_after_crash|bool|sighup|||||on
restart_after_crash|bool|sighup|||||on
restore_command|string|sighup|||||
restrict_nonsystem_relation_kind|string|user|||||
row_security|bool|user|||||on
search_path|string|user|||||"$user", public
segment_size|integer|internal|8kB|131072|131072||1GB
seq_page_cost|real|user||0|1.79769e+308||1
server_encoding|string|internal|||||UTF8
server_version|string|internal|||||15.0
server_version_num|integer|internal||150018|150018||150000
session_preload_libraries|string|superuser|||||
session_replication_role|enum|superuser||||origin,replica,local|origin
shared_buffers|integer|postmaster|8kB|16|1073741823||128MB
shared_memory_size|integer|internal|MB|0|2147483647||
shared_memory_size_in_huge_pages|integer|internal||-1|2147483647||
shared_memory_type|enum|postmaster||||sysv,mmap|mmap
shared_preload_libraries|string|postmaster|||||
ssl|bool|sighup|||||off
ssl_ca_file|string|sighup|||||
ssl_cert_file|string|sighup|||||
ssl_ciphers|string|sighup|||||HIGH:MEDIUM:+3DES:!aNULL
ssl_crl_dir|string|sighup|||||
ssl_crl_file|string|sighup|||||
ssl_dh_params_file|string|sighup|||||
ssl_ecdh_curve|string|sighup|||||prime256v1
ssl_key_file|string|sighup|||||
ssl_library|string|internal|||||OpenSSL
ssl_max_protocol_version|enum|sighup||||,TLSv1,TLSv1.1,TLSv1.2,TLSv1.3|
ssl_min_protocol_version|enum|sighup||||TLSv1,TLSv1.1,TLSv1.2,TLSv1.3|TLSv1.2
ssl_passphrase_command|string|sighup|||||
ssl_passphrase_command_supports_reload|bool|sighup|||||off
ssl_prefer_server_ciphers|bool|sighup|||||on
standard_conforming_strings|bool|user|||||on
statement_timeout|integer|user|ms|0|2147483647||0
stats_fetch_consistency|enum|user||||none,cache,snapshot|cache
superuser_reserved_connections|integer|postmaster||0|262143||3
synchronize_seqscans|bool|user|||||on
synchronous_commit|enum|user||||local,remote_write,remote_apply,on,off|on
synchronous_standby_names|string|sighup|||||
syslog_facility|enum|sighup||||local0,local1,local2,local3,local4,local5,local6,local7|local0
syslog_ident|string|sighup|||||postgres
syslog_sequence_numbers|bool|sighup|||||on
syslog_split_messages|bool|sighup|||||on
tcp_keepalives_count|integer|user||0|2147483647||9
tcp_keepalives_idle|integer|user|s|0|2147483647||7200
tcp_keepalives_interval|integer|user|s|0|2147483647||75
tcp_user_timeout|integer|user|ms|0|2147483647||0
temp_buffers|integer|user|8kB|100|1073741823||8MB
temp_file_limit|integer|superuser|kB|-1|2147483647||-1
temp_tablespaces|string|user|||||
TimeZone|string|user|||||UTC
timezone_abbreviations|string|user|||||Default
trace_notify|bool|user|||||off
trace_recovery_messages|enum|sighup||||debug5,debug4,debug3,debug2,debug1,log,notice,warning,error|log
trace_sort|bool|user|||||off
track_activities|bool|superuser|||||on
track_activity_query_size|integer|postmaster|B|100|1048576||1kB
track_commit_timestamp|bool|postmaster|||||off
track_counts|bool|superuser|||||on
track_functions|enum|superuser||||none,pl,all|none
track_io_timing|bool|superuser|||||off
track_wal_io_timing|bool|superuser|||||off
transaction_deferrable|bool|user|||||off
transaction_isolation|enum|user||||serializable,repeatable read,read committed,read uncommitted|read committed
transaction_read_only|bool|user|||||off
transform_null_equals|bool|user|||||off
unix_socket_directories|string|postmaster|||||
unix_socket_group|string|postmaster|||||
unix_socket_permissions|integer|postmaster||0|511||0777
update_process_title|bool|superuser|||||on
vacuum_cost_delay|real|user|ms|0|100||0
vacuum_cost_limit|integer|user||1|10000||200
vacuum_cost_page_dirty|integer|user||0|10000||20
vacuum_cost_page_hit|integer|user||0|10000||1
vacuum_cost_page_miss|integer|user||0|10000||2
vacuum_defer_cleanup_age|integer|sighup||0|1000000||0
vacuum_failsafe_age|integer|user||0|2100000000||1600000000
vacuum_freeze_min_age|integer|user||0|1000000000||50000000
vacuum_freeze_table_age|integer|user||0|2000000000||150000000
vacuum_multixact_failsafe_age|integer|user||0|2100000000||1600000000
vacuum_multixact_freeze_min_age|integer|user||0|1000000000||5000000
vacuum_multixact_freeze_table_age|integer|user||0|2000000000||150000000
wal_block_size|integer|internal||8192|8192||8192
wal_buffers|integer|postmaster|8kB|-1|262143||4MB
wal_compression|enum|superuser||||pglz,lz4,zstd,on,off|off
wal_consistency_checking|string|superuser|||||
wal_decode_buffer_size|integer|postmaster|B|65536|1073741823||512kB
wal_init_zero|bool|superuser|||||on
wal_keep_size|integer|sighup|MB|0|2147483647||0
wal_level|enum|postmaster||||minimal,replica,logical|replica
wal_log_hints|bool|postmaster|||||off
wal_receiver_create_temp_slot|bool|sighup|||||off
wal_receiver_status_interval|integer|sighup|s|0|2147483||10s
wal_receiver_timeout|integer|sighup|ms|0|2147483647||1min
wal_recycle|bool|superuser|||||on
wal_retrieve_retry_interval|integer|sighup|ms|1|2147483647||5s
wal_segment_size|integer|internal|B|1048576|1073741824||16MB
wal_sender_timeout|integer|user|ms|0|2147483647||1min
wal_skip_threshold|integer|user|kB|0|2147483647||2MB
wal_sync_method|enum|sighup||||fsync,fdatasync,open_sync,open_datasync|fdatasync
wal_writer_delay|integer|sighup|ms|1|10000||200ms
wal_writer_flush_after|integer|sighup|8kB|0|2147483647||1MB
work_mem|integer|user|kB|64|2147483647||4MB
xmlbinary|enum|user||||base64,hex|base64
xmloption|enum|user||||content,document|content
zero_damaged_pages|bool|superuser|||||off
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses() {
        assert_eq!(TABLE.lines().count(), KNOWN.len());
        let jit = lookup("JIT").map(|k| (k.kind, k.default));
        assert_eq!(jit, Some((Kind::Bool, "on")));
        let st = lookup("statement_timeout").map(|k| (k.kind, k.unit, k.context));
        assert_eq!(st, Some((Kind::Integer, "ms", Context::Session)));
        assert!(lookup("no_such_setting").is_none());
    }
}
