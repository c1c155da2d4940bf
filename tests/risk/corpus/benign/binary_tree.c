#include <stdio.h>
#include <stdlib.h>

typedef struct tree {
    int key;
    struct tree *l, *r;
} tree;

static tree *insert(tree *t, int k)
{
    if (!t) {
        t = calloc(1, sizeof *t);
        t->key = k;
    } else if (k < t->key) {
        t->l = insert(t->l, k);
    } else {
        t->r = insert(t->r, k);
    }
    return t;
}

/* a deep copy, named like the libc call on purpose: it is not clone(2) */
static tree *clone(const tree *t)
{
    if (!t)
        return NULL;
    tree *c = malloc(sizeof *c);
    c->key = t->key;
    c->l = clone(t->l);
    c->r = clone(t->r);
    return c;
}

static void inorder(const tree *t)
{
    if (!t)
        return;
    inorder(t->l);
    printf("%d ", t->key);
    inorder(t->r);
}

int main(void)
{
    int keys[] = {50, 30, 70, 20, 40, 60, 80};
    tree *root = NULL;
    for (unsigned i = 0; i < sizeof keys / sizeof *keys; i++)
        root = insert(root, keys[i]);
    inorder(clone(root));
    putchar('\n');
    return 0;
}
