#!/bin/bash
start=$(date +%s%N)
sum=0
for i in $(seq 1 5000); do sum=$((sum + i)); done
end=$(date +%s%N)
echo "sum=$sum elapsed_ms=$(( (end - start) / 1000000 ))"
