n, cap = map(int, input().split())
items = [tuple(map(int, input().split())) for _ in range(n)]
best = [0] * (cap + 1)
for weight, value in items:
    for c in range(cap, weight - 1, -1):
        best[c] = max(best[c], best[c - weight] + value)
print(best[cap])
