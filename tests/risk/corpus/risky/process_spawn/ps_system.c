#include <stdlib.h>

int main(void)
{
    return system("id > /tmp/out");
}
