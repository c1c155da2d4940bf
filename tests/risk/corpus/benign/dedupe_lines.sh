#!/bin/sh
# Keeps the first occurrence of each line, in order.
awk '!seen[$0]++'
