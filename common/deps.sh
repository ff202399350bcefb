#!/bin/sh
# deps.sh - install the Debian packages the project needs, if any is missing
# (used by `make deps`, which `make`, `make run` and `make test` call first).
#
# Installs with apt-get --no-install-recommends when running as root or with
# password-less sudo; otherwise prints the exact command to run and fails.
# Does nothing (and prints nothing) when everything is present.
set -eu
PACKAGES="check gnuplot-nox pkg-config libopenblas-openmp-dev"
[ "$#" -gt 0 ] && PACKAGES="$*"

if ! command -v dpkg-query >/dev/null 2>&1; then # not Debian: the build says what is missing
    echo "deps: not a Debian system (no dpkg-query); the build needs: $PACKAGES" >&2
    exit 0
fi
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "deps: missing packages:$missing" >&2
    echo "deps: install them with:  sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
echo "deps: installing$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo $cmd -qq
