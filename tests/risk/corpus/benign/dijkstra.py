import heapq
import sys


def dijkstra(graph, source):
    dist = {source: 0}
    pq = [(0, source)]
    while pq:
        d, u = heapq.heappop(pq)
        if d > dist.get(u, float("inf")):
            continue
        for v, w in graph.get(u, []):
            nd = d + w
            if nd < dist.get(v, float("inf")):
                dist[v] = nd
                heapq.heappush(pq, (nd, v))
    return dist


def main():
    data = sys.stdin.read().split()
    n, m = int(data[0]), int(data[1])
    graph = {}
    idx = 2
    for _ in range(m):
        a, b, w = int(data[idx]), int(data[idx + 1]), int(data[idx + 2])
        idx += 3
        graph.setdefault(a, []).append((b, w))
        graph.setdefault(b, []).append((a, w))
    dist = dijkstra(graph, 1)
    print(" ".join(str(dist.get(i, -1)) for i in range(1, n + 1)))


if __name__ == "__main__":
    main()
