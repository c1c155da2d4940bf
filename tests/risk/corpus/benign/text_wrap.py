import textwrap
import sys

width = 40
para = " ".join(sys.stdin.read().split())
for line in textwrap.wrap(para, width=width):
    print(line.center(width))
