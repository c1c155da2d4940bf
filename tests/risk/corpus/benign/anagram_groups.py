import sys
from collections import defaultdict

groups = defaultdict(list)
for word in sys.stdin.read().split():
    groups["".join(sorted(word.lower()))].append(word)
for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
    if len(groups[key]) > 1:
        print(", ".join(groups[key]))
