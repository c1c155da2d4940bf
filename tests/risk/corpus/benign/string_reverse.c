#include <stdio.h>
#include <string.h>

static void reverse(char *s, size_t n)
{
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        char t = s[i];
        s[i] = s[j];
        s[j] = t;
    }
}

int main(void)
{
    char buf[4096];
    while (fgets(buf, sizeof buf, stdin)) {
        size_t n = strcspn(buf, "\n");
        buf[n] = 0;
        reverse(buf, n);
        puts(buf);
    }
    return 0;
}
