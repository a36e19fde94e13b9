#!/usr/bin/env bash
# Installs the Debian packages promowatch and its tests use, when they are missing: Chromium (browser mode:
# chromium-headless-shell and chromium),
# poppler-utils (the case PDF check), pango and DejaVu fonts (the dossier's PDF), openssl (trusted timestamps),
# python3-venv; with PROMOWATCH_SERVERS=1 also PostgreSQL and Redis for the test suite.
set -euo pipefail
need=()
if [ -z "${PROMOWATCH_CHROMIUM:-}" ]; then
  # the headless shell renders crawls; the full Chromium is the fallback the tests also run
  command -v chromium-headless-shell >/dev/null 2>&1 || need+=(chromium-headless-shell)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# WeasyPrint (the dossier's PDF) lays text out with pango; the dossier's fonts are DejaVu
for package in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do
  dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${PROMOWATCH_SERVERS:-}" = 1 ]; then
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "promowatch needs these Debian packages: ${need[*]}; install them as root (apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
