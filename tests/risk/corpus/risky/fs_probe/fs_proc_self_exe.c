#include <fcntl.h>

int main(void)
{
    int fd = open("/proc/self/exe", O_WRONLY);
    return fd;
}
