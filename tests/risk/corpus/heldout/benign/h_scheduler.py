import heapq
import time

class Scheduler:
    """Runs callbacks in time order; run() executes them, no processes are spawned."""
    def __init__(self):
        self.q = []
        self.n = 0

    def at(self, t, fn):
        heapq.heappush(self.q, (t, self.n, fn))
        self.n += 1

    def run(self):
        while self.q:
            t, _, fn = heapq.heappop(self.q)
            fn(t)

s = Scheduler()
for t in (3, 1, 2):
    s.at(t, lambda t: print("tick", t))
s.run()
