// ccx-attack: CVE-2019-5736 style: reach ccx-init (pid 1) through /proc/1/exe to overwrite it
// ccx-category: runc
// ccx-status: ok
// ccx-steps: 5
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ccx-init is the host's own binary, exec'd by descriptor from outside the root: a handle on
 * it that can be reopened for writing would change every later job's init. */
static void judge(const char *step, int fd)
{
    if (fd < 0) {
        printf("BLOCKED: %s: %s\n", step, strerror(errno));
        return;
    }
    printf("ESCAPED: %s: got descriptor %d on ccx-init\n", step, fd);
    close(fd);
}

int main(void)
{
    char buf[256];
    int fd = -1;

    judge("open /proc/1/exe O_WRONLY", open("/proc/1/exe", O_WRONLY));
    judge("open /proc/1/exe O_PATH", open("/proc/1/exe", O_PATH));

    /* Its path would tell where the fleet lives; print only whether it was read. */
    if (readlink("/proc/1/exe", buf, sizeof(buf)) >= 0)
        printf("ESCAPED: readlink /proc/1/exe: the host path of ccx-init\n");
    else
        printf("BLOCKED: readlink /proc/1/exe: %s\n", strerror(errno));

    /* The CVE's patience: keep a read-only handle once one opens, reopen it for writing. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        fd = open("/proc/1/exe", O_RDONLY);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (fd < 0 && now.tv_sec - start.tv_sec < 1);
    if (fd >= 0) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        judge("reopen a read-only fd of /proc/1/exe for writing", open(path, O_WRONLY));
    } else {
        printf("BLOCKED: open /proc/1/exe O_RDONLY for 1 s: %s\n", strerror(errno));
    }

    /* /proc/1/map_files names init's text the same way. */
    judge("open /proc/1/map_files", open("/proc/1/map_files", O_RDONLY | O_DIRECTORY));
    return 0;
}
