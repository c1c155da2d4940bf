#!/bin/bash
# CSV on stdin to a JSON array of objects, written to out.json in the working directory.
IFS=, read -r -a header
{
  echo "["
  first=1
  while IFS=, read -r -a row; do
    [ "$first" -eq 1 ] || echo ","
    first=0
    printf '  {'
    for i in "${!header[@]}"; do
      [ "$i" -gt 0 ] && printf ', '
      printf '"%s": "%s"' "${header[$i]}" "${row[$i]}"
    done
    printf '}'
  done
  echo
  echo "]"
} > out.json
cat out.json
