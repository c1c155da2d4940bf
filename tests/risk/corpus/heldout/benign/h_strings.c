#include <stdio.h>
#include <string.h>
#include <ctype.h>
int main(void)
{
    char s[256];
    if (!fgets(s, sizeof s, stdin))
        return 0;
    int vowels = 0;
    for (char *p = s; *p; p++)
        vowels += strchr("aeiou", tolower((unsigned char)*p)) != NULL;
    printf("%d vowels\n", vowels);
    return 0;
}
