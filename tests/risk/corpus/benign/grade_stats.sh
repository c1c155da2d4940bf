#!/bin/bash
# name score per line on stdin -> average, best, worst
sort -k2,2n | awk '
NR == 1 { worst = $0 }
{ sum += $2; best = $0 }
END { if (NR) printf "avg %.2f\nbest %s\nworst %s\n", sum / NR, best, worst }'
