// ccx-attack: read init's argv and environment and the host's kernel files under /proc
// ccx-category: leak
// ccx-status: ok
// ccx-steps: 10
// Init blanks its argv and environment (its environ is not even readable: it is not
// dumpable); the kernel files are covered by /dev/null or absent. Any byte but NUL is a leak.
// /proc/1/cmdline is read first thing: init must be blank before the program starts.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void check(const char *path)
{
    char buf[4096];
    char seen[81] = "";
    long total = 0;
    long shown = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY);

    if (fd < 0) {
        printf("BLOCKED: %s: %s\n", path, strerror(errno));
        return;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (total + i < 80) /* what it says, NUL shown as a space */
                seen[total + i] = buf[i] >= ' ' && buf[i] <= '~' ? buf[i] : ' ';
            shown += buf[i] != '\0';
        }
        total += n;
    }
    if (n < 0)
        printf("BLOCKED: %s: read: %s after %ld bytes\n", path, strerror(errno), total);
    else if (shown == 0)
        printf("BLOCKED: %s: %ld bytes, none but NUL\n", path, total);
    else
        printf("ESCAPED: %s: %ld bytes with %ld not NUL: %s\n", path, total, shown, seen);
    close(fd);
}

int main(void)
{
    static const char *const paths[] = {
        "/proc/1/cmdline", "/proc/1/environ", "/proc/cmdline", "/proc/kallsyms",
        "/proc/keys", "/proc/key-users", "/proc/timer_list", "/proc/kmsg",
        "/proc/kcore", "/proc/sched_debug",
    };

    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
        check(paths[i]);
    return 0;
}
