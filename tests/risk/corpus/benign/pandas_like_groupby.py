import json
import sys
from itertools import groupby
from operator import itemgetter

records = json.load(sys.stdin) if not sys.stdin.isatty() else []
records = records or [{"team": "a", "pts": 3}, {"team": "b", "pts": 1}, {"team": "a", "pts": 2}]
records.sort(key=itemgetter("team"))
for team, grp in groupby(records, key=itemgetter("team")):
    pts = [r["pts"] for r in grp]
    print(team, sum(pts), max(pts))
