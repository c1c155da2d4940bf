#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    unsigned char h[32], block[80] = {0};
    uint32_t nonce = 0;
    for (;;) {
        *(uint32_t *)(block + 76) = nonce;
        SHA256(block, sizeof block, h);
        if (h[0] == 0 && h[1] == 0 && h[2] == 0)
            break;
        nonce++;
    }
    printf("%u\n", nonce);
    return 0;
}
