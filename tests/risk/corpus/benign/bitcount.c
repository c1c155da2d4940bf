#include <stdint.h>
#include <stdio.h>

static int popcount(uint64_t x)
{
    int c = 0;
    while (x) {
        x &= x - 1;
        c++;
    }
    return c;
}

int main(void)
{
    uint64_t tests[] = {0, 1, 0xff, 0xdeadbeefULL, UINT64_MAX};
    for (unsigned i = 0; i < sizeof tests / sizeof *tests; i++)
        printf("%016llx %d %d\n", (unsigned long long)tests[i], popcount(tests[i]),
               __builtin_popcountll(tests[i]));
    return 0;
}
