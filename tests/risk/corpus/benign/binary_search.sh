#!/bin/bash
arr=(2 5 8 12 16 23 38 56 72 91)
target=${1:-23}
lo=0
hi=$(( ${#arr[@]} - 1 ))
while (( lo <= hi )); do
  mid=$(( (lo + hi) / 2 ))
  if (( arr[mid] == target )); then echo "found at $mid"; exit 0
  elif (( arr[mid] < target )); then lo=$(( mid + 1 ))
  else hi=$(( mid - 1 )); fi
done
echo "not found"
