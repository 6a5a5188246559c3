#!/usr/bin/env bash
# Create a PostgreSQL backup with pg_dump, compressing and checksumming in the pipeline.
#
# Environment:
#   PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE PGSSL*   connection (read by libpq)
#   FABER_FORMAT         custom | sql | directory
#   FABER_COMPRESSION    zstd | gzip | none   (directory format: pg_dump's own compression)
#   FABER_OUTPUT         file (or directory) to write
#   FABER_WORK_DIR       private scratch directory (removed by faber-db afterwards)
#   FABER_JOBS           parallel jobs for the directory format (default 2)
#   FABER_PG_SNAPSHOT    optional snapshot exported by faber-db, so its manifest matches the dump
#   FABER_AGE_RECIPIENTS optional age recipients file: the stored file is encrypted to them
#   FABER_LOCK_WAIT_TIMEOUT, FABER_PARENT_PID
# Prints one JSON object: status, file, size_bytes, sha256, tool_version, duration_seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=create-backup
STARTED=$(now)
start_watchdog "$FABER_WORK_DIR"
require_tool pg_dump

common_args=(--no-password "--lock-wait-timeout=${FABER_LOCK_WAIT_TIMEOUT:-120s}")
[ -n "${FABER_PG_SNAPSHOT:-}" ] && common_args+=("--snapshot=$FABER_PG_SNAPSHOT")
tool_version=$(pg_dump --version | awk '{print $3}')
pg_dump_major=${tool_version%%.*}

dump_directory() {
  local level
  case "$FABER_COMPRESSION" in
    none) level=0 ;;
    gzip) level=${FABER_COMPRESSION_LEVEL:-6} ;;
    zstd)
      [ "$pg_dump_major" -ge 16 ] ||
        fail unsupported_option "pg_dump $tool_version compresses the directory format only with gzip (zstd needs pg_dump 16+); use --compression gzip or none"
      level=zstd ;;
  esac
  pg_dump -Fd -j "${FABER_JOBS:-2}" "--compress=$level" -f "$FABER_OUTPUT" "${common_args[@]}" ||
    fail tool_failed "pg_dump exited with status $?" tool s pg_dump
  find "$FABER_OUTPUT" -type f -exec sync -- {} + || fail disk_full "could not flush $FABER_OUTPUT to disk"
  directory_sha256 "$FABER_OUTPUT" >"$FABER_WORK_DIR/sha256"
}

# The exact bytes being written are verified while pg_dump runs: SQL dumps are
# decompressed in full and must end with pg_dump's trailer; custom archives get a
# decompression test in place and a table-of-contents check from the file's head.
# The directory format is checked afterwards by verify-backup.sh.
case "$FABER_FORMAT" in
  sql)
    set_compressor "$FABER_COMPRESSION"; set_decompressor "$FABER_COMPRESSION"
    start_stream_verifier trailer_check '-- PostgreSQL database dump complete'
    stream_to_output pg_dump -Fp "${common_args[@]}" ;;
  custom)
    require_tool pg_restore
    set_compressor "$FABER_COMPRESSION"; set_decompressor "$FABER_COMPRESSION"
    if [ -n "${FABER_AGE_RECIPIENTS:-}" ]; then
      # The file is ciphertext: the table of contents is read from the stream instead.
      start_stream_verifier toc_check_stream
      stream_to_output pg_dump -Fc -Z0 "${common_args[@]}"
    else
      start_stream_test
      stream_to_output pg_dump -Fc -Z0 "${common_args[@]}"
      toc_check_file
    fi ;;
  directory) dump_directory ;;
  *) fail invalid_input "unknown format '$FABER_FORMAT'" ;;
esac
emit_created postgresql pg_dump "$tool_version"
