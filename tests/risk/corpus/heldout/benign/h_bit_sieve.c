#include <stdint.h>
#include <stdio.h>
static uint8_t bits[1 << 17];
int main(void)
{
    int n = 1000000, count = 0;
    for (int i = 2; i <= n; i++) {
        if (bits[i >> 3] & (1 << (i & 7)))
            continue;
        count++;
        for (long j = (long)i * i; j <= n; j += i)
            bits[j >> 3] |= 1 << (j & 7);
    }
    printf("%d\n", count);
    return 0;
}
