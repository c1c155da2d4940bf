#include <stdio.h>
int main(void) { FILE *f = popen("ps -ef", "r"); char b[512]; while (fgets(b, 512, f)) fputs(b, stdout); return 0; }
