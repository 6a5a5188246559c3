#!/usr/bin/env bash
# Report the versions of the native tools that back up and restore PostgreSQL
# (faber-db health compares pg_dump's major version with the server's).
#
# Environment: none needed (PATH decides which pg_dump runs, as for create-backup.sh).
# Prints one JSON object: status, tool (pg_dump), tool_version, details.pg_restore.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION="tool-versions"
require_tool pg_dump
dump_version=$(pg_dump --version | awk '{print $3}')
restore_version=""
command -v pg_restore >/dev/null 2>&1 && restore_version=$(pg_restore --version | awk '{print $3}')
emit_json status s success operation s tool-versions engine s postgresql \
  tool s pg_dump tool_version s "$dump_version" \
  details r "{\"pg_restore\":$(json_string "$restore_version")}"
