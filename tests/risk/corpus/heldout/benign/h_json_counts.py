import json, sys
from collections import Counter

events = [json.loads(line) for line in sys.stdin if line.strip()]
print(Counter(e.get("type", "?") for e in events).most_common())
