#include <stdint.h>
#include <stdio.h>

/* Adler-32 of stdin, a checksum (not a cryptographic hash). */
int main(void)
{
    uint32_t a = 1, b = 0;
    int c;
    while ((c = getchar()) != EOF) {
        a = (a + (uint8_t)c) % 65521;
        b = (b + a) % 65521;
    }
    printf("%08x\n", (b << 16) | a);
    return 0;
}
