import bisect

def lower_bound(a, x):
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo

arr = sorted([37, 2, 19, 88, 4, 51, 63, 12])
for q in (1, 19, 50, 100):
    i = lower_bound(arr, q)
    assert i == bisect.bisect_left(arr, q)
    print(q, "->", i)
