#!/usr/bin/env bash
# Installs the Debian packages that integration tests need, only those that
# are missing, so a machine that has them all does no network access.
set -euo pipefail

missing=()

have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() {
	have_cmd dpkg-query && dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
# need PACKAGE CHECK...: PACKAGE is missing unless dpkg has it or CHECK succeeds.
need() {
	local pkg=$1
	shift
	have_pkg "$pkg" || "$@" >/dev/null 2>&1 || missing+=("$pkg")
}

# postgresql: tests start their own cluster with initdb, which Debian keeps
# outside PATH.
need postgresql compgen -G '/usr/lib/postgresql/*/bin/initdb'
# Debian's python3 module, which a pyenv python3 earlier in PATH would not see.
need python3-icalendar /usr/bin/python3 -c 'import icalendar'
need chromium have_cmd chromium
need radicale have_cmd radicale
need xandikos have_cmd xandikos
need prometheus have_cmd promtool
need coturn have_cmd turnserver
# git seeds Xandikos collections (it serves what is committed in them).
need git have_cmd git

if [ ${#missing[@]} -eq 0 ]; then
	echo "test-deps: all present"
	exit 0
fi

echo "test-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if have_cmd sudo; then
		sudo=(sudo)
	else
		echo "test-deps: not root and no sudo; install these yourself: ${missing[*]}" >&2
		exit 1
	fi
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
