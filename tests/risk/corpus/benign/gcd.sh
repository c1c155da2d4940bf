#!/bin/bash
gcd() {
  local a=$1 b=$2
  while (( b )); do
    local t=$(( a % b ))
    a=$b
    b=$t
  done
  echo "$a"
}
gcd 1071 462
gcd 270 192
