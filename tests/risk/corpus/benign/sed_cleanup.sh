#!/bin/sh
# Strips comments and blank lines and trims whitespace from a config on stdin.
sed -e 's/#.*$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d'
