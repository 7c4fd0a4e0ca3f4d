#!/usr/bin/env bash
# Documented browser check: renders the site's index and notebook pages to PNG with headless
# Chromium (Debian package `chromium`), so a person can look at what a reader sees.
# Usage: bash tools/screenshot_site.sh [out-dir]   (after `deno task reproduce` or `deno task site`)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-site/screenshots}
mkdir -p "$out"
command -v chromium >/dev/null || { echo "chromium is missing: apt-get install chromium" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shot() { # page png height
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --hide-scrollbars --window-size=1200,"$3" --screenshot="$2" "file://$PWD/$1" >/dev/null 2>&1
  echo "$2"
}
shot site/index.html "$out/index.png" 2400
for page in site/notebooks/*.html; do
  [ -e "$page" ] || continue
  shot "$page" "$out/$(basename "${page%.html}").png" 4000
done
