#include <stdio.h>
#include <stdlib.h>

struct node {
    int val;
    struct node *next;
};

static struct node *push(struct node *head, int v)
{
    struct node *n = malloc(sizeof *n);
    n->val = v;
    n->next = head;
    return n;
}

static struct node *reverse(struct node *h)
{
    struct node *prev = NULL;
    while (h) {
        struct node *next = h->next;
        h->next = prev;
        prev = h;
        h = next;
    }
    return prev;
}

int main(void)
{
    struct node *list = NULL;
    for (int i = 1; i <= 5; i++)
        list = push(list, i * i);
    list = reverse(list);
    for (struct node *p = list; p; p = p->next)
        printf("%d ", p->val);
    putchar('\n');
    while (list) {
        struct node *n = list->next;
        free(list);
        list = n;
    }
    return 0;
}
