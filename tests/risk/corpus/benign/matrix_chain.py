import sys
from functools import lru_cache

dims = list(map(int, sys.stdin.read().split()))

@lru_cache(maxsize=None)
def best(i, j):
    if j - i < 2:
        return 0
    return min(best(i, k) + best(k, j) + dims[i] * dims[k] * dims[j] for k in range(i + 1, j))

print(best(0, len(dims) - 1))
