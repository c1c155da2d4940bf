# Sums the numbers on stdin (any whitespace between them) and prints the total.
import sys

total = 0
for word in sys.stdin.read().split():
    total += float(word) if "." in word else int(word)
print(total)
