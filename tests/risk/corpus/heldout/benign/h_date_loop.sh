#!/bin/bash
for d in 0 1 2 3; do
  date -u -d "2024-03-01 + $d days" +%A
done
