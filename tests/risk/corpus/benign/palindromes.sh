#!/bin/bash
while read -r word; do
  clean=$(printf '%s' "$word" | tr -dc '[:alnum:]' | tr '[:upper:]' '[:lower:]')
  rev=$(printf '%s' "$clean" | rev)
  if [ -n "$clean" ] && [ "$clean" = "$rev" ]; then
    echo "$word"
  fi
done
