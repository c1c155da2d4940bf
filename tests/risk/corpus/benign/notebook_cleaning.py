import csv
import io
import json

RAW = """id,name,age,city
1, Alice ,34,Lisbon
2,bob,,Porto
3,Carla,29, faro
4,dan,41,Lisbon
"""

def clean(row):
    row = {k: v.strip() for k, v in row.items()}
    row["name"] = row["name"].title()
    row["city"] = row["city"].title()
    row["age"] = int(row["age"]) if row["age"] else None
    return row

rows = [clean(r) for r in csv.DictReader(io.StringIO(RAW))]
ages = [r["age"] for r in rows if r["age"] is not None]
print(json.dumps(rows, indent=1))
print("mean age", sum(ages) / len(ages))
by_city = {}
for r in rows:
    by_city.setdefault(r["city"], []).append(r["name"])
print(by_city)
