#include <stdio.h>

static int lower_bound(const int *a, int n, int x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int main(void)
{
    int a[] = {1, 3, 3, 5, 8, 13, 21, 34};
    int q;
    while (scanf("%d", &q) == 1)
        printf("%d\n", lower_bound(a, 8, q));
    return 0;
}
