s = input() or "babad"
n = len(s)
best = (0, 1)
for c in range(2 * n - 1):
    l, r = c // 2, (c + 1) // 2
    while l >= 0 and r < n and s[l] == s[r]:
        l, r = l - 1, r + 1
    if r - l - 1 > best[1] - best[0]:
        best = (l + 1, r)
print(s[best[0]:best[1]])
