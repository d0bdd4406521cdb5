#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then lint and run the tests.
# Idempotent: safe to run again. Needs root for apt and for starting PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VERSION=15
export MAILBOT_TEST_PG="${MAILBOT_TEST_PG:-postgresql+psycopg://mailbot:mailbot@127.0.0.1:5432/postgres}"

need_apt=()
command -v pg_ctlcluster >/dev/null || need_apt+=("postgresql-${PG_VERSION}")
[ -x /usr/sbin/dovecot ] || need_apt+=("dovecot-imapd")
command -v systemd-analyze >/dev/null || need_apt+=("systemd")  # for verifying the units
[ -x "/usr/lib/postgresql/${PG_VERSION}/bin/postgres" ] || need_apt+=("postgresql-${PG_VERSION}")
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The machine's PostgreSQL 15: start it and make a login role that may create databases.
if ! pg_lsclusters -h 2>/dev/null | grep -q "^${PG_VERSION} *main"; then
  pg_createcluster "${PG_VERSION}" main >/dev/null
fi
pg_ctlcluster "${PG_VERSION}" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='mailbot'\"" | grep -q 1 \
  || su postgres -c "psql -q -c \"CREATE ROLE mailbot LOGIN PASSWORD 'mailbot' CREATEDB\""
# Dropping a scratch database WITH (FORCE) ends autovacuum's connection to it too.
su postgres -c "psql -q -c 'SET client_min_messages = warning; GRANT pg_signal_backend TO mailbot'"

# A virtual environment of our own, so a missing dependency shows here and not in production.
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e '.[test]'

ruff check mailbot tests bench
mypy mailbot
python -m pytest -q "$@"
