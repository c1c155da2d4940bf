#!/bin/sh
# Sums the second column of whitespace-separated input.
awk '{ s += $2 } END { printf "total=%d rows=%d\n", s, NR }'
