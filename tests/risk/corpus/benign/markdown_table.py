import sys

rows = [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]
if not rows:
    rows = [["name", "score"], ["ana", "91"], ["bo", "78"]]
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
def fmt(r):
    return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
print(fmt(rows[0]))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows[1:]:
    print(fmt(r))
