#include <stdio.h>
#include <string.h>

#define W 20
#define H 10

int main(void)
{
    char g[H][W], n[H][W];
    memset(g, 0, sizeof g);
    g[1][2] = g[2][3] = g[3][1] = g[3][2] = g[3][3] = 1;
    for (int gen = 0; gen < 12; gen++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int c = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if (dx || dy)
                            c += g[(y + dy + H) % H][(x + dx + W) % W];
                n[y][x] = c == 3 || (g[y][x] && c == 2);
            }
        memcpy(g, n, sizeof g);
    }
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++)
            putchar(g[y][x] ? '#' : '.');
        putchar('\n');
    }
    return 0;
}
