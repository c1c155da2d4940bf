#!/bin/bash
set -e
seq 1 1000 > numbers.txt
split -l 250 numbers.txt chunk_
for f in chunk_*; do
  printf '%s %s\n' "$f" "$(awk '{s+=$1} END {print s}' "$f")"
done
rm -f chunk_* numbers.txt
