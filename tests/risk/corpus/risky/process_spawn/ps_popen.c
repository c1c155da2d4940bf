#include <stdio.h>

int main(void)
{
    char line[256];
    FILE *p = popen("ls /", "r");
    while (fgets(line, sizeof line, p))
        fputs(line, stdout);
    return pclose(p);
}
