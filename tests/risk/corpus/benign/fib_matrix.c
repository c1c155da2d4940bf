#include <stdint.h>
#include <stdio.h>

#define MOD 1000000007ULL

static void mul(uint64_t a[2][2], uint64_t b[2][2])
{
    uint64_t r[2][2] = {{0}};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 2; k++)
                r[i][j] = (r[i][j] + a[i][k] * b[k][j]) % MOD;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            a[i][j] = r[i][j];
}

int main(void)
{
    unsigned long long n = 1000000;
    uint64_t res[2][2] = {{1, 0}, {0, 1}}, base[2][2] = {{1, 1}, {1, 0}};
    while (n) {
        if (n & 1)
            mul(res, base);
        mul(base, base);
        n >>= 1;
    }
    printf("%llu\n", (unsigned long long)res[0][1]);
    return 0;
}
