#!/usr/bin/env bash
# Renders an HTML report in headless Chromium and saves a PNG of it: the
# check that the report and its inline SVG charts render in a real browser.
#
#   harness/report-screenshot.sh [REPORT.html] [OUT.png]
#
# Defaults: reports/fscompare/report.html and reports/fscompare/screenshot.png.
# Needs Debian's chromium (apt-get install chromium). The page loads nothing
# from outside, so the network flags only keep Chromium itself quiet.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
html=${1:-$root/reports/fscompare/report.html}
out=${2:-$root/reports/fscompare/screenshot.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "report-screenshot.sh: chromium not found: apt-get install chromium" >&2; exit 2; }
[ -f "$html" ] || { echo "report-screenshot.sh: $html not found" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2600 \
    --screenshot="$out" "file://$(realpath "$html")" 2>/dev/null
[ -s "$out" ] || { echo "report-screenshot.sh: no screenshot written" >&2; exit 1; }
echo "$out"
