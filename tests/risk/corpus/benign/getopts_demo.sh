#!/bin/bash
verbose=0
name=world
while getopts "vn:" opt; do
  case $opt in
    v) verbose=1 ;;
    n) name=$OPTARG ;;
    *) echo "usage: $0 [-v] [-n name]" >&2; exit 2 ;;
  esac
done
[ "$verbose" -eq 1 ] && echo "verbose on"
echo "hello, $name"
