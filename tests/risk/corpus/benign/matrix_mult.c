#include <stdio.h>

#define N 3

static void mul(const double a[N][N], const double b[N][N], double out[N][N])
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += a[i][k] * b[k][j];
            out[i][j] = s;
        }
}

int main(void)
{
    double a[N][N] = {{1, 2, 3}, {0, 1, 4}, {5, 6, 0}};
    double b[N][N] = {{-24, 18, 5}, {20, -15, -4}, {-5, 4, 1}}, c[N][N];
    mul(a, b, c);
    for (int i = 0; i < N; i++)
        printf("%5.1f %5.1f %5.1f\n", c[i][0], c[i][1], c[i][2]);
    return 0;
}
