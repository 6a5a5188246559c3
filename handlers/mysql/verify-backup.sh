#!/usr/bin/env bash
# Verify a MySQL/MariaDB dump: sha256 and a full decompression test in one read,
# then the format check: the dump must end with "-- Dump completed", which
# mysqldump/mariadb-dump write only after the last table.
#
# Environment: FABER_FILE, FABER_COMPRESSION, FABER_WORK_DIR, FABER_PARENT_PID
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=verify-backup
STARTED=$(now)
start_watchdog ""
[ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"
set_decompressor "$FABER_COMPRESSION"
checksum_and_tail "$FABER_FILE"
if grep -q -- '-- Dump completed' "$FABER_WORK_DIR/tail"; then
  emit_verification passed
else
  emit_verification failed "the dump does not end with the '-- Dump completed' trailer (truncated?)"
fi
