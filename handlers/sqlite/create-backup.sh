#!/usr/bin/env bash
# Create a SQLite backup with the online backup API (never a raw file copy, which
# could miss committed data still in the -wal file or catch a half-written page).
#
# Environment:
#   FABER_SQLITE_PATH    the live database file
#   FABER_FORMAT         custom (a SQLite database file) | sql (SQL text)
#   FABER_COMPRESSION    zstd | gzip | none
#   FABER_OUTPUT, FABER_WORK_DIR, FABER_PARENT_PID
#   FABER_KEEP_COPY      where to write the uncompressed consistent copy and leave it
#                        (faber-db reads its manifest from it, once $FABER_WORK_DIR/copy.ready
#                        exists, so counts match the backup exactly)
#   FABER_PYTHON         the Python interpreter to run sqlite_tool.py with
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=create-backup
STARTED=$(now)
start_watchdog "$FABER_WORK_DIR"
PYTHON=${FABER_PYTHON:-python3}
require_tool "$PYTHON"
copy=${FABER_KEEP_COPY:-$FABER_WORK_DIR/copy.sqlite3}

"$PYTHON" "$HERE/sqlite_tool.py" backup "$FABER_SQLITE_PATH" "$copy" ||
  fail tool_failed "the SQLite online backup failed" tool s sqlite3-backup-api
# The copy is complete: faber-db reads its manifest from it while it is checked and compressed.
: >"$FABER_WORK_DIR/copy.ready"
# PRAGMA integrity_check on the copy runs while it is being compressed (both only read it).
"$PYTHON" "$HERE/sqlite_tool.py" check "$copy" 2>"$FABER_WORK_DIR/check.err" &
checker=$!

set_compressor "$FABER_COMPRESSION"
set_decompressor "$FABER_COMPRESSION"
case "$FABER_FORMAT" in
  custom)
    # The decompression test checks the compressed frames' content checksum (zstd's
    # xxh64, gzip's CRC-32) against what the compressor read: the checked copy, byte
    # for byte. The format check is the copy's integrity_check, waited for below.
    start_stream_test
    stream_to_output cat -- "$copy"
    [ -n "${VERIFY_FIFO:-}" ] || DECOMPRESSION_STATUS=passed  # uncompressed: nothing to test
    FORMAT_STATUS=passed ;;
  sql)
    start_stream_verifier trailer_check 'COMMIT;'
    stream_to_output "$PYTHON" "$HERE/sqlite_tool.py" dump "$copy" ;;
  *) fail unsupported_option "SQLite backups are 'custom' (a database file) or 'sql'; not '$FABER_FORMAT'" ;;
esac
wait "$checker" ||
  fail tool_failed "the copy fails PRAGMA integrity_check (is the source database damaged?): $(head -c 300 "$FABER_WORK_DIR/check.err")" tool s sqlite3
emit_created sqlite sqlite3-backup-api "$("$PYTHON" -c 'import sqlite3; print(sqlite3.sqlite_version)')"
