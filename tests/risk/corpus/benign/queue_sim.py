import random
import heapq

random.seed(7)
arrivals = sorted(random.expovariate(1 / 3) * i for i in range(1, 50))
servers = [0.0, 0.0]
waits = []
for t in arrivals:
    free_at = heapq.heappop(servers)
    start = max(t, free_at)
    waits.append(start - t)
    heapq.heappush(servers, start + random.expovariate(1 / 5))
print(f"mean wait {sum(waits) / len(waits):.2f}, max {max(waits):.2f}")
