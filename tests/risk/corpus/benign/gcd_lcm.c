#include <inttypes.h>
#include <stdio.h>

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int main(void)
{
    uint64_t a, b;
    while (scanf("%" SCNu64 " %" SCNu64, &a, &b) == 2)
        printf("gcd=%" PRIu64 " lcm=%" PRIu64 "\n", gcd(a, b), a / gcd(a, b) * b);
    return 0;
}
