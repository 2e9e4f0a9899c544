#!/usr/bin/env bash
# Print a directory holding Postfix's smtp-source and smtp-sink, fetching them if needed.
# They come from Debian's postfix package, unpacked under .build/postfix (no service is
# installed or started); the load generator's benchmark measures itself against them.
set -euo pipefail
dir=${POSTFIX_TOOLS:-$(dirname "$0")/../.build/postfix}
if [ ! -x "$dir/usr/sbin/smtp-source" ]; then
  command -v apt-get >/dev/null || { echo "postfix-tools: needs apt-get (or set POSTFIX_TOOLS to an unpacked postfix)" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download postfix >/dev/null 2>&1) ||
    { apt-get update -qq >/dev/null && (cd "$work" && apt-get download postfix >/dev/null); }
  mkdir -p "$dir"
  dpkg-deb -x "$work"/postfix_*.deb "$dir"
fi
cd "$dir" && pwd
