#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024

struct entry {
    char *key;
    int count;
    struct entry *next;
};

static struct entry *table[BUCKETS];

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % BUCKETS;
}

static void add(const char *w)
{
    unsigned h = hash(w);
    for (struct entry *e = table[h]; e; e = e->next)
        if (!strcmp(e->key, w)) {
            e->count++;
            return;
        }
    struct entry *e = malloc(sizeof *e);
    e->key = strdup(w);
    e->count = 1;
    e->next = table[h];
    table[h] = e;
}

int main(void)
{
    char w[128];
    while (scanf("%127s", w) == 1)
        add(w);
    for (int i = 0; i < BUCKETS; i++)
        for (struct entry *e = table[i]; e; e = e->next)
            if (e->count > 1)
                printf("%s %d\n", e->key, e->count);
    return 0;
}
