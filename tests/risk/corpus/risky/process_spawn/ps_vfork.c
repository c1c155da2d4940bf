#include <unistd.h>

int main(void)
{
    if (vfork() == 0)
        execl("/bin/sh", "sh", "-c", "id", (char *)0);
    return 0;
}
