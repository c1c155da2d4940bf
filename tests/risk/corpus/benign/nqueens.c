#include <stdio.h>

static int n = 8, count;
static int cols, d1, d2;

static void place(int row)
{
    if (row == n) {
        count++;
        return;
    }
    for (int c = 0; c < n; c++) {
        int a = 1 << c, b = 1 << (row + c), d = 1 << (row - c + n - 1);
        if ((cols & a) || (d1 & b) || (d2 & d))
            continue;
        cols |= a; d1 |= b; d2 |= d;
        place(row + 1);
        cols &= ~a; d1 &= ~b; d2 &= ~d;
    }
}

int main(void)
{
    place(0);
    printf("%d solutions\n", count);
    return 0;
}
