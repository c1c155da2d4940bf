#!/bin/bash
# Counts files per extension under the current directory.
mkdir -p demo && touch demo/a.py demo/b.py demo/c.js demo/README
find . -type f -name '*.*' | sed 's/.*\.//' | sort | uniq -c | sort -rn
