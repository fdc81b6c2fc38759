#!/usr/bin/env bash
# Makes promtool and amtool available for the Prometheus export tests, and pg_dump/pg_restore
# for PostgreSQL backups (`rampart backup`). Installs Debian's prometheus,
# prometheus-alertmanager and postgresql-client packages when a tool is missing.
# Idempotent and quiet: prints nothing when the tools are already there.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
{ command -v pg_dump && command -v pg_restore; } >/dev/null 2>&1 || missing+=(postgresql-client)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

fail() {
  echo "install-ops-tools: cannot install ${missing[*]} ($1); install them with apt-get" \
    "or put promtool, amtool, pg_dump and pg_restore on PATH." >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available on this machine"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || fail "root rights are needed"
  sudo=(sudo -n)
fi

echo "install-ops-tools: installing ${missing[*]}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# The package index may be empty on a fresh machine; refresh it once, then install.
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  "${sudo[@]}" apt-get update -qq >>"$log" 2>&1 || { tail -5 "$log" >&2; fail "apt-get update failed"; }
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
    || { tail -5 "$log" >&2; fail "apt-get install failed"; }
fi
# The Debian packages start their daemons where a service manager exists; the tests only
# need the command-line tools, so stop them again if that happened (quietly, best effort).
for service in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    "${sudo[@]}" systemctl stop "$service" >/dev/null 2>&1 || true
  fi
done
command -v promtool >/dev/null 2>&1 || fail "promtool is still missing after the install"
command -v amtool >/dev/null 2>&1 || fail "amtool is still missing after the install"
command -v pg_dump >/dev/null 2>&1 || fail "pg_dump is still missing after the install"
