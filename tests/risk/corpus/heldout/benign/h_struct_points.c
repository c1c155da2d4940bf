#include <math.h>
#include <stdio.h>
struct point { double x, y; };
static double dist(struct point a, struct point b) { return hypot(a.x - b.x, a.y - b.y); }
int main(void)
{
    struct point p[] = {{0, 0}, {3, 4}, {6, 8}};
    double total = 0;
    for (int i = 1; i < 3; i++)
        total += dist(p[i - 1], p[i]);
    printf("%.2f\n", total);
    return 0;
}
