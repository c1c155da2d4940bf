#include <stdio.h>
#include <string.h>

static int dp[1001][1001];

int main(void)
{
    char a[1001], b[1001];
    if (scanf("%1000s %1000s", a, b) != 2)
        return 1;
    int n = strlen(a), m = strlen(b);
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++)
            dp[i][j] = a[i - 1] == b[j - 1] ? dp[i - 1][j - 1] + 1
                     : dp[i - 1][j] > dp[i][j - 1] ? dp[i - 1][j] : dp[i][j - 1];
    printf("%d\n", dp[n][m]);
    return 0;
}
