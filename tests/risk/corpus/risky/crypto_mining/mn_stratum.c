#include <stdio.h>

int main(void)
{
    const char *url = "stratum+tcp://xmr.pool.example:3333";
    printf("connecting %s\n", url);
    return 0;
}
