#include <stdio.h>

int main(void)
{
    int n, W;
    static int best[100001];
    if (scanf("%d %d", &n, &W) != 2)
        return 1;
    for (int i = 0; i < n; i++) {
        int w, v;
        scanf("%d %d", &w, &v);
        for (int c = W; c >= w; c--)
            if (best[c - w] + v > best[c])
                best[c] = best[c - w] + v;
    }
    printf("%d\n", best[W]);
    return 0;
}
