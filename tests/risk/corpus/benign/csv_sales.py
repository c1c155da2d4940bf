"""Total sales per region from a CSV on stdin; writes summary.json in the working dir."""
import csv
import json
import sys
from collections import defaultdict

totals = defaultdict(float)
counts = defaultdict(int)
reader = csv.DictReader(sys.stdin)
for row in reader:
    region = row["region"].strip() or "unknown"
    totals[region] += float(row["amount"])
    counts[region] += 1

summary = {r: {"total": round(t, 2), "orders": counts[r]} for r, t in sorted(totals.items())}
with open("summary.json", "w") as fh:
    json.dump(summary, fh, indent=2)
print(json.dumps(summary))
