#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* key=value pairs from stdin, one per line; "exec" and "system" are just keys here */
int main(void)
{
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *val = eq + 1;
        val[strcspn(val, "\r\n")] = 0;
        if (!strcmp(line, "exec") || !strcmp(line, "system"))
            printf("reserved key %s ignored\n", line);
        else
            printf("%s -> %s (%ld)\n", line, val, strtol(val, NULL, 10));
    }
    return 0;
}
