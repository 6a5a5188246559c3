#!/usr/bin/env bash
# Restore a PostgreSQL backup IN PLACE, in ONE transaction: the prelude drops what
# the dump will recreate (restore-prelude.sql), pg_restore turns the archive into
# SQL, psql runs it, and COMMIT is sent only when every stage succeeded (and a
# plain SQL dump ended with pg_dump's completion trailer). On any failure psql is killed
# before it could see COMMIT, so the server rolls the whole transaction back and
# the database keeps its old content (the same happens if faber-db is killed:
# the watchdog kills psql). Works without CREATEDB; other sessions stay connected.
#
# Environment:
#   PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE PGSSL*   connection (read by libpq)
#   FABER_FILE, FABER_FORMAT (custom|sql|directory), FABER_COMPRESSION (zstd|gzip|none)
#   FABER_KEEP_OWNERS    1 to restore owners and privileges (superusers); else --no-owner --no-privileges
#   FABER_ANALYZE        1 to ANALYZE inside the transaction (pg_dump carries no statistics)
#   FABER_CHECK_SQL      optional SQL run just before COMMIT; it raises on a mismatch with
#                        the backup's manifest, which rolls the whole restore back
#   FABER_LOCK_WAIT_TIMEOUT (default 120s), FABER_WORK_DIR, FABER_PARENT_PID
# Prints one JSON object: status, tool_version, duration_seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=restore-backup
STARTED=$(now)
start_watchdog ""
# A write to a dead psql must fail with EPIPE (and be reported), not kill this script.
trap '' PIPE
require_tool psql
require_tool pg_restore
[ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"
[ "$FABER_FORMAT" = directory ] || set_decompressor "$FABER_COMPRESSION"
# Nothing but our own SQL may reach psql outside the dump: a backslash would let psql
# read a meta-command (\! runs a shell command), so a check script holding one is
# refused, and the lock timeout (pasted into SET LOCAL) must look like a duration.
if [ -n "${FABER_CHECK_SQL:-}" ] && LC_ALL=C grep -q -F -e "\\" -- "$FABER_CHECK_SQL"; then
  fail invalid_input "the check script $FABER_CHECK_SQL holds a backslash; nothing was restored"
fi
[[ "${FABER_LOCK_WAIT_TIMEOUT:-120s}" =~ ^[0-9]+(ms|s|min)?$ ]] ||
  fail invalid_input "FABER_LOCK_WAIT_TIMEOUT must be a duration such as 120s; nothing was restored"
tool_version=$(pg_restore --version | awk '{print $3}')

restore_args=(-f -)
[ "${FABER_KEEP_OWNERS:-0}" = 1 ] || restore_args+=(--no-owner --no-privileges)

# archive_to_stdout: the archive (custom or directory) on stdout, undecompressed.
archive_to_stdout() { "${DECOMPRESS[@]}" <"$FABER_FILE"; }

# A non-owner cannot COMMENT ON EXTENSION; leave those entries out of the list.
restore_list() {
  [ "${FABER_KEEP_OWNERS:-0}" = 1 ] && return 0
  local list="$FABER_WORK_DIR/toc.list"
  case "$FABER_FORMAT" in
    directory) pg_restore -l -- "$FABER_FILE" ;;
    custom) archive_to_stdout | pg_restore -l ;;
    *) return 0 ;;
  esac 2>/dev/null | grep -v ' COMMENT - EXTENSION ' >"$list"
  restore_args+=(-L "$list")
}

produce_sql() {
  case "$FABER_FORMAT" in
    directory) pg_restore "${restore_args[@]}" -- "$FABER_FILE" ;;
    custom)
      archive_to_stdout | pg_restore "${restore_args[@]}"
      local -a st=("${PIPESTATUS[@]}")
      [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ] ;;
    sql) archive_to_stdout ;;
    *) return 2 ;;
  esac
}

# send_sql: the SQL into psql. A plain SQL dump must end with pg_dump's trailer (its
# last 4 KiB are kept to check); archives need no trailer check, because pg_restore
# exits non-zero when an archive ends early, even exactly between two data blocks.
send_sql() {
  if [ "$FABER_FORMAT" != sql ]; then
    produce_sql >&3
    return
  fi
  mkfifo -m 600 -- "$work/tail.fifo" || return 2
  tail -c 4096 <"$work/tail.fifo" >"$work/tail" &
  local tail_pid=$!
  produce_sql | tee -- "$work/tail.fifo" >&3
  local -a st=("${PIPESTATUS[@]}")
  wait "$tail_pid"
  [ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ] || return 2
  grep -q -- '-- PostgreSQL database dump complete' "$work/tail"
}

restore_list
work=$FABER_WORK_DIR
mkfifo -m 600 -- "$work/psql.fifo" || fail tool_failed "cannot create a FIFO in $work"
psql -X -q --no-password -v ON_ERROR_STOP=1 -f - <"$work/psql.fifo" >/dev/null &
psql_pid=$!
exec 3>"$work/psql.fifo"

{
  printf 'BEGIN;\nSET LOCAL lock_timeout = %s;\n' "'${FABER_LOCK_WAIT_TIMEOUT:-120s}'"
  cat -- "$HERE/restore-prelude.sql"
} >&3
prelude_status=$?
send_sql
sql_status=$?

complete=0
if [ "$prelude_status" = 0 ] && [ "$sql_status" = 0 ]; then
  complete=1
  # faber-db's checks against the manifest: they raise, and so roll back, on a mismatch.
  [ -n "${FABER_CHECK_SQL:-}" ] && cat -- "$FABER_CHECK_SQL" >&3
  [ "${FABER_ANALYZE:-1}" = 1 ] && printf 'ANALYZE;\n' >&3
  printf 'COMMIT;\n' >&3 || complete=0
fi
if [ "$complete" = 0 ]; then
  kill -KILL "$psql_pid" 2>/dev/null
fi
exec 3>&-
wait "$psql_pid" 2>/dev/null
psql_status=$?

if [ "$psql_status" != 0 ] && { [ "$complete" = 1 ] || [ "$psql_status" != 137 ]; }; then
  fail restore_failed "psql stopped with status $psql_status (see the error above); the transaction was rolled back and the database is unchanged" tool s psql exit_code r "$psql_status"
fi
if [ "$complete" = 0 ]; then
  if [ "$FABER_FORMAT" != sql ] || [ "$sql_status" != 1 ]; then
    fail restore_failed "reading the backup failed (truncated or damaged?); the transaction was rolled back and the database is unchanged" tool s pg_restore
  fi
  fail restore_failed "the backup stream ended without pg_dump's completion trailer (truncated?); the transaction was rolled back and the database is unchanged" tool s pg_restore
fi

stop_watchdog
emit_json status s success operation s restore-backup engine s postgresql \
  format s "$FABER_FORMAT" tool s pg_restore tool_version s "$tool_version" \
  duration_seconds r "$(elapsed_since "$STARTED")"
