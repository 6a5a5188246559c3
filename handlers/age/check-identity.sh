#!/usr/bin/env bash
# Check that an age identity opens an encrypted backup, before anything is restored
# or verified: age reads the header, unwraps the file key with the identity, and
# decrypts and authenticates the first 64 KiB chunk; nothing is written anywhere.
#
# Environment: FABER_FILE, FABER_AGE_IDENTITY (a path: the key never enters argv),
#              FABER_WORK_DIR, FABER_PARENT_PID
# Prints one JSON object: opened (true/false) and, when false, detail (age's reason).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION=check-identity
STARTED=$(now)
start_watchdog ""
require_tool age
[ -e "$FABER_FILE" ] || fail backup_missing "backup file $FABER_FILE does not exist"

# head stops reading after one byte; age then dies of SIGPIPE (141), which is success.
age -d -i "$FABER_AGE_IDENTITY" <"$FABER_FILE" 2>"$FABER_WORK_DIR/age.err" | head -c 1 >/dev/null
statuses=("${PIPESTATUS[@]}")
stop_watchdog
if [ "${statuses[0]}" = 0 ] || [ "${statuses[0]}" = 141 ]; then
  emit_json status s success operation s check-identity opened r true \
    duration_seconds r "$(elapsed_since "$STARTED")"
else
  emit_json status s success operation s check-identity opened r false \
    detail s "$(head -n 1 "$FABER_WORK_DIR/age.err" | head -c 300)" \
    duration_seconds r "$(elapsed_since "$STARTED")"
fi
