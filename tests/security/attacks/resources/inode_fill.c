// ccx-attack: create empty files in /work, /tmp and /dev/shm until no inode is left
// ccx-category: resources
// ccx-status: ok
// ccx-no-event: memory_limit
// ccx-steps: 3
// ccx-limits: wall_ms=30000
// Each tmpfs is capped at sandbox.inodes (16384): creating more must fail with ENOSPC.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INODES 16384

static void exhaust(const char *dir)
{
    char path[64];
    int made = 0;
    int err = 0;

    for (; made < 4 * INODES; made++) {
        snprintf(path, sizeof(path), "%s/i%d", dir, made);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

        if (fd < 0) {
            err = errno;
            break;
        }
        close(fd);
    }
    if (err == ENOSPC && made <= INODES)
        printf("BLOCKED: inodes of %s: %s after %d files\n", dir, strerror(err), made);
    else
        printf("ESCAPED: inodes of %s: %d files made (%s)\n", dir, made, strerror(err));
}

int main(void)
{
    exhaust("/work");
    exhaust("/tmp");
    exhaust("/dev/shm");
    return 0;
}
