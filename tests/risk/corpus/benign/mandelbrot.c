#include <stdio.h>

int main(void)
{
    const char *shades = " .:-=+*#%@";
    for (int y = -12; y <= 12; y++) {
        for (int x = -39; x <= 20; x++) {
            double cr = x / 20.0, ci = y / 10.0, zr = 0, zi = 0;
            int it = 0;
            while (zr * zr + zi * zi < 4 && it < 90) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                it++;
            }
            putchar(shades[it % 10]);
        }
        putchar('\n');
    }
    return 0;
}
