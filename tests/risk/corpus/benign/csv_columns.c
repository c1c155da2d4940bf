#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sums the numeric second column of a CSV read from stdin. */
int main(void)
{
    char line[1024];
    double total = 0;
    int rows = 0;
    if (!fgets(line, sizeof line, stdin))
        return 0;
    while (fgets(line, sizeof line, stdin)) {
        char *save = NULL, *field = strtok_r(line, ",", &save);
        field = field ? strtok_r(NULL, ",", &save) : NULL;
        if (!field)
            continue;
        total += strtod(field, NULL);
        rows++;
    }
    printf("rows=%d total=%.2f avg=%.2f\n", rows, total, rows ? total / rows : 0.0);
    return 0;
}
