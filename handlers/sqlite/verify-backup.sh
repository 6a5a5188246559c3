#!/usr/bin/env bash
# Verify a SQLite backup: sha256 and a full decompression test in one read, then
# PRAGMA integrity_check on the decompressed database file ("custom" format), or
# the closing COMMIT of a SQL dump.
#
# Environment: FABER_FILE, FABER_FORMAT, FABER_COMPRESSION, FABER_WORK_DIR, FABER_PARENT_PID, FABER_PYTHON
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=verify-backup
STARTED=$(now)
start_watchdog ""
PYTHON=${FABER_PYTHON:-python3}
[ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"
set_decompressor "$FABER_COMPRESSION"

case "$FABER_FORMAT" in
  custom)
    checksum_and_tail "$FABER_FILE"
    "${DECOMPRESS[@]}" <"$FABER_FILE" >"$FABER_WORK_DIR/check.sqlite3" 2>/dev/null
    if "$PYTHON" "$HERE/sqlite_tool.py" check "$FABER_WORK_DIR/check.sqlite3" 2>"$FABER_WORK_DIR/check.err"; then
      emit_verification passed
    else
      emit_verification failed "PRAGMA integrity_check failed: $(head -c 300 "$FABER_WORK_DIR/check.err")"
    fi ;;
  sql)
    checksum_and_tail "$FABER_FILE"
    if [ "$(grep -v '^[[:space:]]*$' "$FABER_WORK_DIR/tail" | tail -n1)" = "COMMIT;" ]; then
      emit_verification passed
    else
      emit_verification failed "the SQL dump does not end with COMMIT; (truncated?)"
    fi ;;
  *) fail unsupported_option "unknown SQLite backup format '$FABER_FORMAT'" ;;
esac
