from collections import defaultdict, deque

deps = {
    "compile": ["fetch_sources", "configure"],
    "configure": ["fetch_sources"],
    "test": ["compile"],
    "package": ["compile", "test"],
    "fetch_sources": [],
}
indeg = defaultdict(int)
out = defaultdict(list)
for node, reqs in deps.items():
    indeg.setdefault(node, 0)
    for r in reqs:
        out[r].append(node)
        indeg[node] += 1
queue = deque(sorted(n for n, d in indeg.items() if d == 0))
order = []
while queue:
    n = queue.popleft()
    order.append(n)
    for m in sorted(out[n]):
        indeg[m] -= 1
        if indeg[m] == 0:
            queue.append(m)
print(" -> ".join(order))
