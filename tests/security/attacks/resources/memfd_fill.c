// ccx-attack: fill a memfd, a tmpfs file of no size cap, under a 32 MiB memory limit
// ccx-category: resources
// ccx-status: memory_limit
// ccx-event: memory_limit ^memory_mb=32 oom_kills=[1-9]
// ccx-limits: memory_mb=32 wall_ms=20000
// A memfd lives on the kernel's internal tmpfs, outside every mount's size= cap: only the
// memory cgroup, which its pages are charged to, can stop it.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char chunk[1 << 20];

int main(void)
{
    int fd = memfd_create("ccx-fill", 0);
    int mb = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    if (fd < 0) {
        printf("memfd_create: %s: the attack did not run\n", strerror(errno));
        return 2;
    }
    memset(chunk, 0xa5, sizeof(chunk));
    for (; mb < 1024; mb++) {
        if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) {
            printf("BLOCKED: memfd after %d MiB: %s (no memory_limit)\n", mb, strerror(errno));
            return 1;
        }
    }
    printf("ESCAPED: a memfd took %d MiB past the memory limit\n", mb);
    return 1;
}
