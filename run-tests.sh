#!/usr/bin/env bash
# Run faber-db's test suite: lint, then pytest against the real servers.
# Creates .venv with faber-db and its test dependencies on first use.
#
# Servers (override with environment variables):
#   FABER_TEST_POSTGRES_URL  default postgresql://postgres@127.0.0.1:5432/postgres
#   FABER_TEST_MYSQL_URL     default mysql://root@127.0.0.1:3306/test
# With CI=true a test that cannot reach its server fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
ruff format --check .
python -m pytest "$@"
