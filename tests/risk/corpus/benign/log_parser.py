import re
import sys
from collections import Counter

LINE = re.compile(r'(?P<ip>\S+) \S+ \S+ \[(?P<ts>[^\]]+)\] "(?P<method>\w+) (?P<path>\S+)[^"]*" (?P<status>\d{3})')
status = Counter()
paths = Counter()
for line in sys.stdin:
    m = LINE.match(line)
    if not m:
        continue
    status[m["status"]] += 1
    paths[m["path"]] += 1
print("status codes:", dict(status))
print("top paths:", paths.most_common(3))
