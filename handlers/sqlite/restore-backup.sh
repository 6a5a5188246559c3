#!/usr/bin/env bash
# SQLite restore in two steps, so faber-db can verify the restored copy before the
# live database is touched:
#   FABER_STEP=load     decompress (or replay the SQL dump) into FABER_OUTPUT, a new
#                       file beside the target (a rebuilt one is integrity-checked);
#   FABER_STEP=install  copy FABER_SOURCE into the live FABER_SQLITE_PATH with the
#                       online backup API (sqlite_tool.py install explains why).
#
# Environment: FABER_FILE, FABER_FORMAT (custom|sql), FABER_COMPRESSION, FABER_OUTPUT,
#   FABER_SOURCE, FABER_SQLITE_PATH, FABER_WORK_DIR, FABER_PARENT_PID, FABER_PYTHON
# Prints one JSON object: status, tool, tool_version, duration_seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=restore-backup
STARTED=$(now)
PYTHON=${FABER_PYTHON:-python3}
require_tool "$PYTHON"

load() {
  # If faber-db dies, the watchdog removes the half-written copy.
  start_watchdog "$FABER_OUTPUT"
  [ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"
  set_decompressor "$FABER_COMPRESSION"
  case "$FABER_FORMAT" in
    custom)
      "${DECOMPRESS[@]}" <"$FABER_FILE" >"$FABER_OUTPUT"
      check_pipeline "${DECOMPRESS[0]}" "${PIPESTATUS[@]}" ;;
    sql)
      "${DECOMPRESS[@]}" <"$FABER_FILE" | "$PYTHON" "$HERE/sqlite_tool.py" load "$FABER_OUTPUT"
      check_pipeline "${DECOMPRESS[0]} sqlite-load" "${PIPESTATUS[@]}" ;;
    *) fail unsupported_option "unknown SQLite backup format '$FABER_FORMAT'" ;;
  esac
  # A database-file backup passed integrity_check in faber-db's step 1 (same bytes,
  # same sha256); a database rebuilt from SQL text is checked here.
  [ "$FABER_FORMAT" = custom ] && return 0
  "$PYTHON" "$HERE/sqlite_tool.py" check "$FABER_OUTPUT" ||
    fail restore_failed "the restored copy fails PRAGMA integrity_check (damaged backup?)" tool s sqlite3
}

install() {
  start_watchdog ""
  "$PYTHON" "$HERE/sqlite_tool.py" install "$FABER_SOURCE" "$FABER_SQLITE_PATH" ||
    fail restore_failed "copying the restored database into $FABER_SQLITE_PATH failed; SQLite rolled the target back to its old content" tool s sqlite3-backup-api
}

case "${FABER_STEP:-}" in
  load) load ;;
  install) install ;;
  *) fail invalid_input "FABER_STEP must be load or install" ;;
esac
stop_watchdog
emit_json status s success operation s restore-backup engine s sqlite \
  tool s sqlite3-backup-api tool_version s "$("$PYTHON" -c 'import sqlite3; print(sqlite3.sqlite_version)')" \
  duration_seconds r "$(elapsed_since "$STARTED")"
