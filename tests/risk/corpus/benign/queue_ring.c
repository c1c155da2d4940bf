#include <stdbool.h>
#include <stdio.h>

#define CAP 8

struct ring {
    int buf[CAP];
    int head, len;
};

static bool ring_push(struct ring *r, int v)
{
    if (r->len == CAP)
        return false;
    r->buf[(r->head + r->len++) % CAP] = v;
    return true;
}

static bool ring_pop(struct ring *r, int *v)
{
    if (!r->len)
        return false;
    *v = r->buf[r->head];
    r->head = (r->head + 1) % CAP;
    r->len--;
    return true;
}

int main(void)
{
    struct ring r = {0};
    int v;
    for (int i = 0; i < 10; i++)
        if (!ring_push(&r, i))
            printf("full at %d\n", i);
    while (ring_pop(&r, &v))
        printf("%d ", v);
    putchar('\n');
    return 0;
}
