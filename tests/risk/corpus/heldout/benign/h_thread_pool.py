from concurrent.futures import ThreadPoolExecutor
import math

def heavy(n):
    return sum(math.sqrt(i) for i in range(n))

with ThreadPoolExecutor(max_workers=3) as ex:
    for n, v in zip((10**4, 10**5, 10**6), ex.map(heavy, (10**4, 10**5, 10**6))):
        print(n, round(v, 2))
