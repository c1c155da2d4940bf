#!/bin/bash
# Counts log lines per level; "exec", "eval" and "curl" appear only as text in the sample.
cat > sample.log <<'EOF2'
2024-01-01 INFO  exec started
2024-01-01 WARN  eval took 3s
2024-01-01 ERROR curl is not installed
2024-01-02 INFO  done
EOF2
awk '{ c[$2]++ } END { for (k in c) print k, c[k] }' sample.log | sort
