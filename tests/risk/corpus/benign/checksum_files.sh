#!/bin/sh
# Checksums of files the job writes itself.
printf 'alpha\n' > one.txt
printf 'beta\n' > two.txt
sha256sum one.txt two.txt > sums.txt
sha256sum -c sums.txt
