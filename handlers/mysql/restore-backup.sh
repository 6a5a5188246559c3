#!/usr/bin/env bash
# Load a MySQL/MariaDB dump into a schema (faber-db's scratch schema; the swap into
# the real database happens afterwards, in one RENAME TABLE). The dump holds no
# CREATE DATABASE/USE, so it lands where we point it. A dump that does not end
# with the "-- Dump completed" trailer is refused even if every statement in it
# loaded, so a file cut at a statement boundary can never pass as complete.
#
# Environment:
#   FABER_MYSQL_DEFAULTS   private option file with host, port, user and password
#   FABER_MYSQL_DATABASE   the (scratch) schema to load into; it must exist
#   FABER_FILE, FABER_COMPRESSION, FABER_WORK_DIR, FABER_PARENT_PID
# Prints one JSON object: status, tool, tool_version, duration_seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=restore-backup
STARTED=$(now)
start_watchdog ""
trap '' PIPE
[ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"
if command -v mariadb >/dev/null 2>&1; then client=mariadb; else require_tool mysql; client=mysql; fi
tool_version=$("$client" --version | head -n1)
set_decompressor "$FABER_COMPRESSION"

tail_fifo="$FABER_WORK_DIR/tail.fifo"
mkfifo -m 600 -- "$tail_fifo" || fail tool_failed "cannot create a FIFO in $FABER_WORK_DIR"
tail -c 4096 <"$tail_fifo" >"$FABER_WORK_DIR/tail" &
tail_pid=$!
# --binary-mode: the client runs no command of its own (\! would run a shell command)
# but DELIMITER and charset, whatever a dump holds. The dump tool writes table names
# into comments, and not every version keeps a name's newline from ending one.
"${DECOMPRESS[@]}" <"$FABER_FILE" | tee -- "$tail_fifo" |
  "$client" --defaults-extra-file="$FABER_MYSQL_DEFAULTS" --default-character-set=utf8mb4 \
    --binary-mode --max-allowed-packet=1G -- "$FABER_MYSQL_DATABASE"
statuses=("${PIPESTATUS[@]}")
wait "$tail_pid"

if [ "${statuses[2]}" != 0 ]; then
  fail restore_failed "$client stopped with status ${statuses[2]} while loading the dump (see the error above)" tool s "$client" exit_code r "${statuses[2]}"
fi
check_pipeline "${DECOMPRESS[0]} tee $client" "${statuses[@]}"
grep -q -- '-- Dump completed' "$FABER_WORK_DIR/tail" ||
  fail restore_failed "the dump does not end with the '-- Dump completed' trailer (truncated?)" tool s "$client"

stop_watchdog
emit_json status s success operation s restore-backup engine s mysql format s sql \
  tool s "$client" tool_version s "$tool_version" duration_seconds r "$(elapsed_since "$STARTED")"
