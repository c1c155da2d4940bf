#!/bin/bash
set -e
tmp=$(mktemp -d ./tmp.XXXX)
echo "data" > "$tmp/file"
wc -c < "$tmp/file"
rm -r "$tmp"
