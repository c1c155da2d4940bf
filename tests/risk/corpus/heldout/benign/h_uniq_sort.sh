#!/bin/sh
sort | uniq -c | sort -rn | awk '{ print $2 ": " $1 }'
