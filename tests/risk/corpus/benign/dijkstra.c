#include <limits.h>
#include <stdio.h>

#define V 6

int main(void)
{
    int g[V][V] = {
        {0, 7, 9, 0, 0, 14}, {7, 0, 10, 15, 0, 0}, {9, 10, 0, 11, 0, 2},
        {0, 15, 11, 0, 6, 0}, {0, 0, 0, 6, 0, 9}, {14, 0, 2, 0, 9, 0},
    };
    int dist[V], done[V] = {0};
    for (int i = 0; i < V; i++)
        dist[i] = INT_MAX;
    dist[0] = 0;
    for (int it = 0; it < V; it++) {
        int u = -1;
        for (int i = 0; i < V; i++)
            if (!done[i] && (u < 0 || dist[i] < dist[u]))
                u = i;
        done[u] = 1;
        for (int v = 0; v < V; v++)
            if (g[u][v] && dist[u] + g[u][v] < dist[v])
                dist[v] = dist[u] + g[u][v];
    }
    for (int i = 0; i < V; i++)
        printf("%d: %d\n", i, dist[i]);
    return 0;
}
