#!/bin/sh
# Archives the job's own files; all paths are relative to the working directory.
set -e
mkdir -p data backup
for i in 1 2 3; do
  echo "sample $i" > "data/file$i.txt"
done
tar czf backup/data.tgz data
ls -l backup
tar tzf backup/data.tgz | sort
