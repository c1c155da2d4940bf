#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct student {
    char name[32];
    int score;
};

static int by_score(const void *a, const void *b)
{
    const struct student *x = a, *y = b;
    if (x->score != y->score)
        return y->score - x->score;
    return strcmp(x->name, y->name);
}

int main(void)
{
    struct student s[100];
    int n = 0;
    while (n < 100 && scanf("%31s %d", s[n].name, &s[n].score) == 2)
        n++;
    qsort(s, n, sizeof s[0], by_score);
    for (int i = 0; i < n; i++)
        printf("%2d. %-10s %3d\n", i + 1, s[i].name, s[i].score);
    return 0;
}
