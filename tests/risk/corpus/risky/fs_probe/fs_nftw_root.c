#include <ftw.h>
#include <stdio.h>

static int show(const char *p, const struct stat *st, int t, struct FTW *f)
{
    puts(p);
    return 0;
}

int main(void)
{
    return nftw("/", show, 32, FTW_PHYS);
}
