#!/bin/sh
# Pretty-prints JSON from stdin with python's json.tool (no network, no eval).
python3 -m json.tool --sort-keys
