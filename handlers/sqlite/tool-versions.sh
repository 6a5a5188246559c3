#!/usr/bin/env bash
# Report the SQLite library faber-db backs up with (Python's sqlite3 online backup
# API, run by FABER_PYTHON as create-backup.sh does).
#
# Environment: FABER_PYTHON (the interpreter to ask).
# Prints one JSON object: status, tool (sqlite3-backup-api), tool_version.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION="tool-versions"
PYTHON=${FABER_PYTHON:-python3}
require_tool "$PYTHON"
version=$("$PYTHON" -c 'import sqlite3; print(sqlite3.sqlite_version)') ||
  fail tool_failed "$PYTHON cannot load its sqlite3 module" tool s sqlite3-backup-api
emit_json status s success operation s tool-versions engine s sqlite \
  tool s sqlite3-backup-api tool_version s "$version"
