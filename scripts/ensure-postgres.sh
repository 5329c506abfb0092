#!/usr/bin/env bash
# Make sure PostgreSQL server binaries are installed (Debian/Ubuntu) and print
# their bin directory. The test suite starts its own throwaway server from these
# binaries; the system cluster created by the Debian package is never used.
set -euo pipefail

find_bindir() {
    # Newest /usr/lib/postgresql/<major>/bin that has initdb, or nothing.
    local initdbs=()
    shopt -s nullglob
    initdbs=(/usr/lib/postgresql/*/bin/initdb)
    shopt -u nullglob
    if ((${#initdbs[@]})); then
        dirname "$(printf '%s\n' "${initdbs[@]}" | sort -V | tail -n1)"
    fi
}

bindir=$(find_bindir)

if [[ -z "$bindir" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "ensure-postgres: PostgreSQL is not installed and we are neither root nor have sudo." >&2
        echo "ensure-postgres: install it manually: apt-get install -y postgresql" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure-postgres: apt-get not found; install PostgreSQL server binaries manually." >&2
        exit 1
    fi

    echo "ensure-postgres: installing PostgreSQL (apt-get)..." >&2
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends postgresql >/dev/null

    # The package may have created and started a "main" cluster; we never use it.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        while read -r ver name _port status _rest; do
            if [[ "$status" == online* ]]; then
                "${as_root[@]}" pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
            fi
        done < <(pg_lsclusters --no-header 2>/dev/null || true)
    fi
    "${as_root[@]}" service postgresql stop >/dev/null 2>&1 || true

    bindir=$(find_bindir)
    if [[ -z "$bindir" ]]; then
        echo "ensure-postgres: installation finished but no /usr/lib/postgresql/*/bin/initdb found." >&2
        exit 1
    fi
fi

printf '%s\n' "$bindir"
