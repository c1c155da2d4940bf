#include <unistd.h>

int main(void)
{
    char *argv[] = {"/bin/sh", "-c", "id", NULL};
    execve("/bin/sh", argv, NULL);
    return 1;
}
