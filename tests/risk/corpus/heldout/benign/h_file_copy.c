#include <stdio.h>
int main(void)
{
    FILE *in = fopen("input.txt", "w");
    fputs("line one\nline two\n", in);
    fclose(in);
    in = fopen("input.txt", "r");
    FILE *out = fopen("copy.txt", "w");
    int c;
    while ((c = fgetc(in)) != EOF)
        fputc(c, out);
    fclose(in);
    fclose(out);
    puts("copied");
    return 0;
}
