// ccx-attack: hard-link read-only host files (python3, ld.so.cache) into writable places
// ccx-category: filesystem
// ccx-status: ok
// ccx-steps: 5
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A link that worked would let us write the host's file through a path we own. */
static void try_link(const char *step, int ret, const char *made)
{
    int fd;

    if (ret < 0) {
        printf("BLOCKED: %s: %s\n", step, strerror(errno));
        return;
    }
    fd = open(made, O_WRONLY | O_APPEND);
    printf("ESCAPED: %s: linked%s\n", step, fd >= 0 ? ", and it opens for writing" : "");
    if (fd >= 0)
        close(fd);
    unlink(made);
}

int main(void)
{
    int fd = open("/usr/bin/python3.11", O_RDONLY);

    try_link("link python3 into /work",
             link("/usr/bin/python3.11", "/work/python3"), "/work/python3");
    try_link("link ld.so.cache into /tmp",
             link("/etc/ld.so.cache", "/tmp/ld.so.cache"), "/tmp/ld.so.cache");
    /* The same file system as the target: only the read-only mount stands in the way. */
    try_link("link python3 beside itself in /usr/bin",
             link("/usr/bin/python3.11", "/usr/bin/ccx-escape"), "/usr/bin/ccx-escape");
    /* Through the open descriptor, as a "magic link". */
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    try_link("linkat /proc/self/fd of python3 into /work",
             linkat(AT_FDCWD, path, AT_FDCWD, "/work/python3", AT_SYMLINK_FOLLOW),
             "/work/python3");
    /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which the job must not have. */
    try_link("linkat AT_EMPTY_PATH of python3 into /work",
             linkat(fd, "", AT_FDCWD, "/work/python3", AT_EMPTY_PATH), "/work/python3");
    return 0;
}
