#include <stdint.h>
#include <stdio.h>

static uint32_t sha256_round(uint32_t x) { return x * 2654435761u; }

int main(void)
{
    uint64_t nonce, hashes_per_sec = 0;
    for (nonce = 0; nonce < 100000000; nonce++)
        if (sha256_round((uint32_t)nonce) < 1000)
            hashes_per_sec++;
    printf("%llu\n", (unsigned long long)hashes_per_sec);
    return 0;
}
