#!/usr/bin/env bash
# Installs Debian's `chromium` (headless browser for tests/html_browser.rs)
# when no `chromium` is on PATH. Idempotent; uses sudo only when not root.
# Exits non-zero with a message when it cannot install.
set -euo pipefail

log() { printf 'install-chromium: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if command -v chromium >/dev/null 2>&1; then
    log "chromium already installed at $(command -v chromium)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    die "chromium is not on PATH and apt-get is missing: install Chromium yourself (or set DICH_CHROMIUM to its path)"
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "not root and sudo is missing: run this script as root, or install the 'chromium' package yourself"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log "running: ${SUDO[*]:-} apt-get update"
"${SUDO[@]}" apt-get update >&2 || die "apt-get update failed (no network or no package mirror?)"
log "running: ${SUDO[*]:-} apt-get install -y --no-install-recommends chromium fonts-dejavu-core"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2 \
    || die "apt-get install chromium failed"

if ! command -v chromium >/dev/null 2>&1; then
    die "the chromium package was installed but no 'chromium' is on PATH (expected /usr/bin/chromium)"
fi
log "chromium installed at $(command -v chromium): $(chromium --version 2>/dev/null || echo 'version unknown')"
