#include <stdio.h>

static void sift(int *a, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && a[l] > a[m]) m = l;
        if (r < n && a[r] > a[m]) m = r;
        if (m == i)
            return;
        int t = a[i]; a[i] = a[m]; a[m] = t;
        i = m;
    }
}

static void heap_sort(int *a, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift(a, n, i);
    for (int end = n - 1; end > 0; end--) {
        int t = a[0]; a[0] = a[end]; a[end] = t;
        sift(a, end, 0);
    }
}

int main(void)
{
    int a[] = {12, 11, 13, 5, 6, 7, 1, 99, -4};
    int n = sizeof a / sizeof a[0];
    heap_sort(a, n);
    for (int i = 0; i < n; i++)
        printf("%d ", a[i]);
    puts("");
    return 0;
}
