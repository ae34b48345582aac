#!/bin/bash
# The incident report of the simulated residence attack before and after a SIGKILL and restart,
# its PDF pages as PNG (docs/investigation/). Needs poppler-utils (pdftoppm).
#   benchmarks/report_pages.sh [OUT_DIR]        (from the repository root, ~70 s)
set -euo pipefail
OUT=${1:-docs/investigation}
W=$(mktemp -d)
SW=.venv/bin/skywarden
PORT=18$((RANDOM % 900 + 100))
mkdir -p "$OUT"
$SW run --speed 4 --port "$PORT" --journal "$W/j.sqlite" --snapshot-every 10 >"$W/run1.log" 2>&1 &
P1=$!
sleep 25
kill -KILL "$P1"; wait "$P1" 2>/dev/null || true
cp "$W/j.sqlite" "$W/before.sqlite"; [ -f "$W/j.sqlite-wal" ] && cp "$W/j.sqlite-wal" "$W/before.sqlite-wal"
$SW run --speed 4 --port "$PORT" --journal "$W/j.sqlite" --snapshot-every 10 >"$W/run2.log" 2>&1 &
P2=$!
sleep 25
kill -TERM "$P2"; wait "$P2" 2>/dev/null || true
$SW verify "$W/j.sqlite"
$SW investigate "$W/j.sqlite" -o "$W/retro.jsonl" --record "$W/investigation.json"
$SW report "$W/before.sqlite" -o "$W/before.pdf"
$SW report "$W/j.sqlite" -o "$W/after.pdf"
$SW report "$W/j.sqlite" -o "$OUT/report-after-restart.html" >/dev/null
pdftoppm -r 60 -png -f 1 -l 2 "$W/before.pdf" "$OUT/before"
pdftoppm -r 60 -png "$W/after.pdf" "$W/after"
for f in "$W"/after-*.png; do
  title=$(pdftotext -f "$(basename "$f" .png | sed 's/.*-0*//')" -l "$(basename "$f" .png | sed 's/.*-0*//')" "$W/after.pdf" - | head -1)
  case "$title" in
    "Incident report"*|"Tracks by class"*|"Tracks, suspect drones first (1/"*|"Investigation"*|"Track kinematics"*) cp "$f" "$OUT/after-$(basename "$f" | sed 's/after-//')";;
  esac
done
rm -f "$OUT/report-after-restart.html"
ls -la "$OUT"
rm -rf "$W"
