#include <stdio.h>
int main(void)
{
    long a[100001] = {0};
    int n, q;
    scanf("%d %d", &n, &q);
    for (int i = 1; i <= n; i++) { scanf("%ld", &a[i]); a[i] += a[i - 1]; }
    while (q--) { int l, r; scanf("%d %d", &l, &r); printf("%ld\n", a[r] - a[l - 1]); }
    return 0;
}
