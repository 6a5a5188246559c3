#!/usr/bin/env bash
# Report the version of the native tool that backs up MySQL/MariaDB (the one
# create-backup.sh would run: mariadb-dump, else mysqldump) and of the client
# that restores (mariadb, else mysql).
#
# Environment: none needed.
# Prints one JSON object: status, tool, tool_version, details.client.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$HERE/../lib/common.sh"
FABER_OPERATION="tool-versions"
if command -v mariadb-dump >/dev/null 2>&1; then tool=mariadb-dump; else require_tool mysqldump; tool=mysqldump; fi
tool_version=$("$tool" --version | head -n1)
client_version=""
if command -v mariadb >/dev/null 2>&1; then client_version=$(mariadb --version | head -n1)
elif command -v mysql >/dev/null 2>&1; then client_version=$(mysql --version | head -n1); fi
emit_json status s success operation s tool-versions engine s mysql \
  tool s "$tool" tool_version s "$tool_version" \
  details r "{\"client\":$(json_string "$client_version")}"
