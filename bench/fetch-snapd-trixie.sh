#!/bin/bash
# fetch-snapd-trixie.sh DIR: download Debian 13's snapd package through apt, without
# adding the suite to this machine's sources, and unpack it into DIR (its agent runs
# unpacked on Debian 12). Prints the unpacked snap binary's path.
set -euo pipefail
dir=$(realpath -m "$1")
if [ -x "$dir/usr/bin/snap" ]; then echo "$dir/usr/bin/snap"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$work/sources.list"
opts=(-qq -o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$work/lists" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update >&2
(cd "$work" && apt-get "${opts[@]}" download snapd >&2)
mkdir -p "$dir"
dpkg -x "$work"/snapd_*.deb "$dir"
chmod -R a+rX "$dir"
echo "$dir/usr/bin/snap"
