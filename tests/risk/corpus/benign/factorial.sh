#!/bin/bash
fact() {
  local n=$1
  if [ "$n" -le 1 ]; then echo 1; return; fi
  echo $(( n * $(fact $((n - 1))) ))
}
for n in 1 5 10 15; do
  printf '%2d! = %s\n' "$n" "$(fact "$n")"
done
