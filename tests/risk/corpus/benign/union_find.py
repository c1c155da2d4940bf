class DSU:
    def __init__(self, n):
        self.parent = list(range(n))
        self.rank = [0] * n

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.rank[ra] < self.rank[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.rank[ra] += self.rank[ra] == self.rank[rb]
        return True

def kruskal(n, edges):
    dsu = DSU(n)
    return sum(w for w, u, v in sorted(edges) if dsu.union(u, v))

print(kruskal(4, [(1, 0, 1), (4, 1, 2), (3, 0, 2), (2, 2, 3)]))
