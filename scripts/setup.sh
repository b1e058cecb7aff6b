#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine: system packages, the virtual environment,
# the front-end bundle. `make run` and `make test` call it; it does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need_pkgs+=(postgresql-15-postgis-3)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_pkgs+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pgrouting.control ] || need_pkgs+=(postgresql-15-pgrouting)
command -v ogrinfo >/dev/null || need_pkgs+=(gdal-bin)
if [ "${CITYGRID_SKIP_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null || need_pkgs+=(chromium)
  # a CJK font, so that the web map's Chinese renders in headless Chromium (tests, screenshots)
  fc-list :lang=zh 2>/dev/null | grep -q . || need_pkgs+=(fonts-wqy-microhei)
fi
command -v wrk >/dev/null || need_pkgs+=(wrk)
# point-in-time recovery: full/incremental backups and the WAL archive (citygrid backup / restore --to)
command -v pgbackrest >/dev/null || need_pkgs+=(pgbackrest)
# broker mode (issue 18): the durable fix stream and shared limits; time partitions kept by pg_partman
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
[ -f /usr/share/postgresql/15/extension/pg_partman.control ] || need_pkgs+=(postgresql-15-partman)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    echo "setup: missing system packages; run: sudo apt-get install ${need_pkgs[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ -f web/package.json ]; then
  wstamp=web/node_modules/.installed-$(cat web/package.json web/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
  if [ ! -f "$wstamp" ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    rm -f web/node_modules/.installed-*
    touch "$wstamp"
  fi
  # The page is rebuilt whenever its sources change (a pull that brings new web/src must not serve the old bundle).
  bstamp=web/dist/.built-$( (cd web && find src index.html vite.config.js package-lock.json -type f -print0 \
    | sort -z | xargs -0 sha1sum) | sha1sum | cut -c1-12)
  if [ ! -f "$bstamp" ]; then
    (cd web && npm run build --silent)
    touch "$bstamp"
  fi
fi
