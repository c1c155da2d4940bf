#!/bin/bash
awk '
{ for (i = 1; i <= NF; i++) m[NR, i] = $i; if (NF > cols) cols = NF }
END {
  for (i = 1; i <= cols; i++) {
    line = ""
    for (j = 1; j <= NR; j++) line = line (j > 1 ? " " : "") m[j, i]
    print line
  }
}'
