#include <stdlib.h>

int main(void)
{
    char cmd[] = {0x23, 0x2e, 0x00};
    for (int i = 0; cmd[i]; i++)
        cmd[i] ^= 0x4a;
    return system(cmd);
}
