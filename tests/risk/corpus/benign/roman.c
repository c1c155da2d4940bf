#include <stdio.h>

int main(void)
{
    static const int val[] = {1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1};
    static const char *sym[] = {"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV",
                                "I"};
    int n;
    while (scanf("%d", &n) == 1 && n > 0 && n < 4000) {
        for (int i = 0; i < 13; i++)
            while (n >= val[i]) {
                fputs(sym[i], stdout);
                n -= val[i];
            }
        putchar('\n');
    }
    return 0;
}
