#!/bin/bash
input=${1:-"mississippi"}
fold -w1 <<< "$input" | sort | uniq -c | sort -k1,1nr -k2 | while read -r n ch; do
  printf '%s: %s\n' "$ch" "$n"
done
