// ccx-attack: open /proc/1/mem of the job's init to read or patch it, and pread its environ
// ccx-category: process
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-steps: 4
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// Reads the first page it can among typical load addresses: any byte read is a leak.
static void try_mem(const char *path, int flags)
{
    static const off_t addresses[] = {0x400000, 0x555555554000, 0x7ffff7dd0000};
    char buf[64];
    int fd = open(path, flags);

    if (fd < 0) {
        printf("BLOCKED: open %s (%s): %s\n", path, flags == O_RDWR ? "rw" : "ro",
               strerror(errno));
        return;
    }
    for (size_t i = 0; i < sizeof(addresses) / sizeof(*addresses); i++) {
        if (pread(fd, buf, sizeof(buf), addresses[i]) > 0) {
            printf("ESCAPED: read %s at 0x%lx\n", path, (long)addresses[i]);
            close(fd);
            return;
        }
    }
    printf("BLOCKED: %s opened but nothing readable at the usual addresses\n", path);
    close(fd);
}

int main(void)
{
    char buf[4096];
    int dir = open("/proc/1", O_RDONLY | O_DIRECTORY);
    int fd = dir < 0 ? -1 : openat(dir, "environ", O_RDONLY);
    ssize_t n;

    try_mem("/proc/1/mem", O_RDONLY);
    try_mem("/proc/1/mem", O_RDWR);
    try_mem("/proc/1/task/1/mem", O_RDONLY);
    if (fd < 0) {
        printf("BLOCKED: openat(/proc/1, environ): %s\n", strerror(errno));
    } else {
        n = pread(fd, buf, sizeof(buf), 0);
        if (n > 0 && memchr(buf, '=', n))
            printf("ESCAPED: read %zd bytes of init's environment\n", n);
        else
            printf("BLOCKED: init's environ: %zd bytes, none of them a variable\n", n);
    }
    return 0;
}
