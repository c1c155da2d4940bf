import random
from multiprocessing.dummy import Pool

def sample(seed, n=20000):
    rnd = random.Random(seed)
    return sum(1 for _ in range(n) if rnd.random() ** 2 + rnd.random() ** 2 <= 1)

with Pool(4) as pool:
    hits = pool.map(sample, range(8))
print(4 * sum(hits) / (8 * 20000))
