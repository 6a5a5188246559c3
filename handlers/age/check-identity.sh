#!/usr/bin/env bash
# Check that an age identity opens an encrypted backup, before anything is restored
# or verified: age reads the header, unwraps the file key with the identity, and
# decrypts and authenticates the first 64 KiB chunk; nothing is written anywhere.
#
# Environment: FABER_FILE, FABER_AGE_IDENTITY (a path: the key never enters argv),
#              FABER_WORK_DIR, FABER_PARENT_PID
# Prints one JSON object: opened (the identity opens the backup), damaged (age refused
# the backup itself, not the identity) and detail (age's reason).
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
reason=$(head -n 1 "$FABER_WORK_DIR/age.err" | head -c 300)
stop_watchdog
if [ "${statuses[0]}" = 0 ] || [ "${statuses[0]}" = 141 ]; then
  opened=true damaged=false
else
  # age names the identity when it cannot use it; anything else (a header that does
  # not parse, a chunk that fails authentication) is damage to the backup, which the
  # backup's own checks then report.
  case "$reason" in
    *"no identity matched"* | *"reading \""* | *identit*) opened=false damaged=false ;;
    *) opened=false damaged=true ;;
  esac
fi
emit_json status s success operation s check-identity opened r "$opened" damaged r "$damaged" \
  detail s "$reason" duration_seconds r "$(elapsed_since "$STARTED")"
