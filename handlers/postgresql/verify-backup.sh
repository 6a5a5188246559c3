#!/usr/bin/env bash
# Verify a PostgreSQL backup: sha256 and a full decompression test in one read,
# then a format check (pg_restore -l parses the archive's table of contents; a
# plain SQL dump must end with pg_dump's completion trailer).
#
# Environment: FABER_FILE, FABER_FORMAT, FABER_COMPRESSION, FABER_WORK_DIR, FABER_PARENT_PID,
#   FABER_AGE_IDENTITY (the identity file of an encrypted backup)
# Prints one JSON object: sha256, checks{decompression,format}, problems[], toc_entries.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=verify-backup
STARTED=$(now)
start_watchdog ""
require_tool pg_restore
[ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"

verify_directory() {
  DECOMPRESSION_STATUS=passed
  directory_sha256 "$FABER_FILE" >"$FABER_WORK_DIR/sha256"
  local gz
  while IFS= read -r -d '' gz; do
    gzip -t -- "$gz" || { log "gzip -t failed on $gz"; DECOMPRESSION_STATUS=failed; break; }
  done < <(find "$FABER_FILE" -type f -name '*.gz' -print0)
  pg_restore -l -- "$FABER_FILE" >"$FABER_WORK_DIR/toc" 2>"$FABER_WORK_DIR/toc.err"
}

verify_custom() {
  set_decompressor "$FABER_COMPRESSION"
  checksum_and_tail "$FABER_FILE"
  if [ "$FABER_COMPRESSION" = none ] && [ -z "${FABER_AGE_IDENTITY:-}" ]; then
    # Seekable archive: read every data block, not just the table of contents.
    pg_restore -f /dev/null -- "$FABER_FILE" 2>"$FABER_WORK_DIR/toc.err" &&
      pg_restore -l -- "$FABER_FILE" >"$FABER_WORK_DIR/toc" 2>>"$FABER_WORK_DIR/toc.err"
  else
    "${DECOMPRESS[@]}" <"$FABER_FILE" 2>/dev/null | pg_restore -l >"$FABER_WORK_DIR/toc" 2>"$FABER_WORK_DIR/toc.err"
    [ "${PIPESTATUS[1]}" = 0 ]
  fi
}

case "$FABER_FORMAT" in
  directory)
    if verify_directory; then format=passed; else format=failed; fi ;;
  custom)
    if verify_custom; then format=passed; else format=failed; fi ;;
  sql)
    set_decompressor "$FABER_COMPRESSION"
    checksum_and_tail "$FABER_FILE"
    if grep -q -- '-- PostgreSQL database dump complete' "$FABER_WORK_DIR/tail"; then format=passed; else format=failed; fi ;;
  *) fail invalid_input "unknown format '$FABER_FORMAT'" ;;
esac

problem=""
if [ "$format" = failed ]; then
  case "$FABER_FORMAT" in
    sql) problem="the dump does not end with pg_dump's completion trailer (truncated?)" ;;
    *) problem="pg_restore cannot read the archive: $(head -c 300 "$FABER_WORK_DIR/toc.err" 2>/dev/null)" ;;
  esac
fi
[ "$DECOMPRESSION_STATUS" = failed ] && problem="${problem:+$problem; }the file does not decompress cleanly (truncated or damaged)"
emit_verification "$format" "$problem"
