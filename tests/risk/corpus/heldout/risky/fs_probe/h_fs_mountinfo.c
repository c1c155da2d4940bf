#include <stdio.h>
int main(void) { char l[512]; FILE *f = fopen("/proc/self/mountinfo", "r"); while (f && fgets(l, 512, f)) fputs(l, stdout); return 0; }
