#include <dirent.h>
#include <stdio.h>

int main(void)
{
    DIR *d = opendir("/");
    struct dirent *e;
    while (d && (e = readdir(d)))
        puts(e->d_name);
    return 0;
}
