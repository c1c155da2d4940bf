#include <stdio.h>
#include <string.h>

#define R 5
#define C 7

static const char *maze[R] = {"S.#....", ".##.##.", "...#...", ".#...#.", "...#..E"};

int main(void)
{
    int dist[R][C], qr[R * C], qc[R * C], head = 0, tail = 0;
    const int dr[] = {1, -1, 0, 0}, dc[] = {0, 0, 1, -1};
    memset(dist, -1, sizeof dist);
    dist[0][0] = 0;
    qr[tail] = 0; qc[tail++] = 0;
    while (head < tail) {
        int r = qr[head], c = qc[head++];
        if (maze[r][c] == 'E') {
            printf("%d\n", dist[r][c]);
            return 0;
        }
        for (int k = 0; k < 4; k++) {
            int nr = r + dr[k], nc = c + dc[k];
            if (nr < 0 || nc < 0 || nr >= R || nc >= C || maze[nr][nc] == '#' || dist[nr][nc] >= 0)
                continue;
            dist[nr][nc] = dist[r][c] + 1;
            qr[tail] = nr; qc[tail++] = nc;
        }
    }
    puts("no path");
    return 0;
}
