#include <stdio.h>
int main(void) { puts("connecting to stratum+tcp://pool.example:4444 as worker1"); return 0; }
