#!/usr/bin/env bash
# Behaviour check for changes to what nb2prod generates: build every example,
# vocabulary and golden notebook with another checkout of nb2prod (OLD, e.g.
# `git archive COMMIT | tar -x -C OLD`) and with this one, run both packages
# (`python -m pkg --metrics-out m.json`), compare exit codes, stdout and metrics.
# Usage: scripts/compare-builds.sh OLD [WORK]   (PYTHON: the interpreter to use)
set -uo pipefail
OLD=$(cd "$1" && pwd)
NEW=$(cd "$(dirname "$0")/.." && pwd)
WORK=${2:-$(mktemp -d)}
PY=${PYTHON:-python3}
same=0
differ=()
for nb in "$NEW"/examples/*.ipynb "$NEW"/tests/data/vocab/*.ipynb "$NEW"/tests/data/build/*/*.ipynb; do
  name=$(basename "$(dirname "$nb")")_$(basename "$nb" .ipynb)
  for side in old new; do
    src=$([ $side = old ] && echo "$OLD" || echo "$NEW")
    work=$WORK/$name/$side
    mkdir -p "$work"
    cp "$(dirname "$nb")"/*.csv "$work"/ 2>/dev/null
    (cd "$work" && PYTHONPATH=$src $PY -m nb2prod build "$nb" -o pkg -q --name pkg >/dev/null 2>&1)
    (cd "$work" && PYTHONPATH=pkg/src MPLBACKEND=Agg timeout 300 $PY -m pkg --metrics-out m.json \
      >stdout.txt 2>stderr.txt; echo $? >rc.txt)
  done
  if cmp -s "$WORK/$name"/{old,new}/stdout.txt && cmp -s "$WORK/$name"/{old,new}/rc.txt \
      && { cmp -s "$WORK/$name"/{old,new}/m.json || [ ! -e "$WORK/$name/old/m.json" ]; }; then
    same=$((same + 1))
  else
    differ+=("$name")
  fi
done
echo "same: $same; differ: ${#differ[@]} ${differ[*]:-}; outputs in $WORK"
