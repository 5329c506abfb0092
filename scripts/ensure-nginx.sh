#!/usr/bin/env bash
# Make sure Debian's nginx is installed for the multi-process tests (tests/support/nginx.py
# puts it in front of several hub processes) and the load benchmark; print its path. The
# tests start their own nginx with a generated config; the package's service is never used.
set -euo pipefail

find_nginx() {
    local candidate
    for candidate in /usr/sbin/nginx "$(command -v nginx 2>/dev/null || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            printf '%s\n' "$candidate"
            return
        fi
    done
}

nginx_bin=$(find_nginx)
if [[ -n "$nginx_bin" ]]; then
    printf '%s\n' "$nginx_bin"
    exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "ensure-nginx: nginx is not installed and we are neither root nor have sudo." >&2
    echo "ensure-nginx: install it manually: apt-get install -y nginx-light" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-nginx: apt-get not found; install nginx manually (/usr/sbin/nginx)." >&2
    exit 1
fi
echo "ensure-nginx: installing nginx (apt-get)..." >&2
"${as_root[@]}" apt-get update -qq
# nginx-light is enough (proxy and upstream modules); newer Debian releases dropped it.
if apt-cache show nginx-light >/dev/null 2>&1; then
    package=nginx-light
else
    package=nginx
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$package" >/dev/null
# The package may have started its service on port 80; the tests never use it.
"${as_root[@]}" service nginx stop >/dev/null 2>&1 || true

nginx_bin=$(find_nginx)
if [[ -z "$nginx_bin" ]]; then
    echo "ensure-nginx: installation finished but no nginx binary found." >&2
    exit 1
fi
printf '%s\n' "$nginx_bin"
