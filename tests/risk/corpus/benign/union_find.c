#include <stdio.h>

#define MAXN 100005

static int parent[MAXN], sz[MAXN];

static int find(int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* "connect" two components: a plain union, nothing to do with sockets */
static void connect(int a, int b)
{
    a = find(a);
    b = find(b);
    if (a == b)
        return;
    if (sz[a] < sz[b]) { int t = a; a = b; b = t; }
    parent[b] = a;
    sz[a] += sz[b];
}

int main(void)
{
    int n, m, a, b;
    scanf("%d %d", &n, &m);
    for (int i = 1; i <= n; i++) { parent[i] = i; sz[i] = 1; }
    while (m-- > 0 && scanf("%d %d", &a, &b) == 2)
        connect(a, b);
    int groups = 0;
    for (int i = 1; i <= n; i++)
        groups += find(i) == i;
    printf("%d\n", groups);
    return 0;
}
