#!/bin/bash
for choice in start stop status exec; do
  case "$choice" in
    start) echo "starting" ;;
    stop) echo "stopping" ;;
    status) echo "all good" ;;
    *) echo "unknown: $choice" ;;
  esac
done
