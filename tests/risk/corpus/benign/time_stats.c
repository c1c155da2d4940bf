#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec a, b;
    volatile double x = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 1; i < 5000000; i++)
        x += 1.0 / i;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("harmonic=%.6f in %.3f ms\n", x,
           (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    return 0;
}
