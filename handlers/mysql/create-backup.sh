#!/usr/bin/env bash
# Create a MySQL/MariaDB backup with mariadb-dump (or mysqldump): one consistent
# InnoDB snapshot (--single-transaction) including routines, triggers and events,
# in utf8mb4, compressed and checksummed in the pipeline.
#
# Environment:
#   FABER_MYSQL_DEFAULTS   private option file with host, port, user and password
#   FABER_MYSQL_DATABASE   schema to dump (no CREATE DATABASE/USE, so it restores under any name)
#   FABER_FORMAT (sql), FABER_COMPRESSION zstd|gzip|none, FABER_OUTPUT, FABER_WORK_DIR, FABER_PARENT_PID
# Prints one JSON object: status, file, size_bytes, sha256, tool_version, duration_seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=create-backup
STARTED=$(now)
start_watchdog "$FABER_WORK_DIR"
[ "$FABER_FORMAT" = sql ] || fail unsupported_option "MySQL backups are SQL dumps; format '$FABER_FORMAT' is not available"

if command -v mariadb-dump >/dev/null 2>&1; then tool=mariadb-dump; else require_tool mysqldump; tool=mysqldump; fi
tool_version=$("$tool" --version | head -n1)
args=(--defaults-extra-file="$FABER_MYSQL_DEFAULTS" --single-transaction --routines --triggers --events
  --default-character-set=utf8mb4 --hex-blob --no-tablespaces --max-allowed-packet=1G --quick)
# Oracle's mysqldump 8 needs these against MariaDB and GTID-enabled servers.
case "$tool_version" in *MariaDB*) ;; *) args+=(--set-gtid-purged=OFF --column-statistics=0) ;; esac

set_compressor "$FABER_COMPRESSION"
set_decompressor "$FABER_COMPRESSION"
# Verify the exact bytes being written: they decompress, and end with the trailer
# mysqldump/mariadb-dump write only after the last table.
start_stream_verifier trailer_check '-- Dump completed'
stream_to_output "$tool" "${args[@]}" -- "$FABER_MYSQL_DATABASE"
emit_created mysql "$tool" "$tool_version"
