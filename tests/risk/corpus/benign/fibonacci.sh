#!/bin/sh
a=0
b=1
i=0
while [ "$i" -lt 20 ]; do
  printf '%s ' "$a"
  t=$((a + b))
  a=$b
  b=$t
  i=$((i + 1))
done
echo
