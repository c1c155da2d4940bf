#!/bin/bash
s="The quick brown fox jumps over the lazy dog"
echo "length: ${#s}"
echo "upper: ${s^^}"
echo "replace: ${s//o/0}"
echo "substring: ${s:4:5}"
words=($s)
echo "words: ${#words[@]}, last: ${words[-1]}"
IFS=' ' read -r -a parts <<< "$s"
printf '%s\n' "${parts[@]}" | sort | head -3
