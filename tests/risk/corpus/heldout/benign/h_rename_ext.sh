#!/bin/bash
mkdir -p work && cd work
touch a.txt b.txt
for f in *.txt; do mv "$f" "${f%.txt}.md"; done
ls
