#!/bin/sh
for c in -40 0 37 100; do
  f=$(echo "scale=1; $c * 9 / 5 + 32" | bc)
  printf '%5s C = %6s F\n' "$c" "$f"
done
