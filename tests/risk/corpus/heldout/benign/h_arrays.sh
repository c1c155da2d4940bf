#!/bin/bash
declare -A ages=([ana]=31 [bo]=25 [cy]=40)
for name in "${!ages[@]}"; do
  echo "$name ${ages[$name]}"
done | sort -k2 -n
