#!/bin/sh
printf 'a;b;c\n1;2;3\n' > in.csv
sed 's/;/,/g' in.csv > out.csv
cut -d, -f2 out.csv
