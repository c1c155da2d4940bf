// ccx-attack: with memory to spare, write /tmp and /dev/shm past their 64 MiB size caps
// ccx-category: resources
// ccx-status: ok
// ccx-no-event: memory_limit
// ccx-steps: 2
// ccx-limits: memory_mb=256 wall_ms=30000
// memory_mb covers both tmpfs at their caps, so each must stop the writes itself with ENOSPC
// at sandbox.tmp_mb (64 MiB). Files of 8 MiB keep RLIMIT_FSIZE (disk_mb) out of the way.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CAP_MB 64
#define FILE_MB 8

static char chunk[1 << 20];

static void fill(const char *dir)
{
    char path[64];
    long long bytes = 0;
    int err = 0;

    for (int n = 0; !err && bytes < 4LL * CAP_MB << 20; n++) {
        snprintf(path, sizeof(path), "%s/fill-%d", dir, n);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd < 0) {
            err = errno;
            break;
        }
        for (long long left = (long long)FILE_MB << 20; left > 0 && !err;) {
            size_t size = left < (long long)sizeof(chunk) ? (size_t)left : sizeof(chunk);
            ssize_t done = write(fd, chunk, size);

            if (done < 0) {
                err = errno;
            } else {
                left -= done;
                bytes += done;
            }
        }
        close(fd);
    }
    if (err == ENOSPC && bytes <= (long long)CAP_MB << 20)
        printf("BLOCKED: fill %s: %s after %lld KiB\n", dir, strerror(err), bytes >> 10);
    else
        printf("ESCAPED: fill %s: %lld KiB written (%s)\n", dir, bytes >> 10, strerror(err));
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN);
    memset(chunk, 0x5a, sizeof(chunk));
    fill("/tmp");
    fill("/dev/shm");
    return 0;
}
