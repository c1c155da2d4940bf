// ccx-attack: TIOCLINUX on fds 0-2 and the console devices: paste the selection, read kmsg
// ccx-category: terminal
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=ioctl fd=0 request=TIOCLINUX raw_request=0x541c errno
// ccx-event: syscall_refused ^syscall=ioctl fd=1 request=TIOCLINUX raw_request=0x541c errno
// ccx-event: syscall_refused ^syscall=ioctl fd=2 request=TIOCLINUX raw_request=0x541c errno
// ccx-steps: 6
// ccx-limits: wall_ms=30000
// TIOCL_PASTESEL types the virtual console's selection into its input, as TIOCSTI does;
// the other subcodes read or steer the console. The filter refuses them on any fd.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TIOCL_PASTESEL 3
#define TIOCL_GETSHIFTSTATE 6
#define TIOCL_GETKMSGREDIRECT 17

static void attempt(const char *what, int fd, char subcode)
{
    char arg[2] = {subcode, 0};

    if (ioctl(fd, TIOCLINUX, arg) == 0)
        printf("ESCAPED: TIOCLINUX subcode %d on %s went through\n", subcode, what);
    else
        printf("BLOCKED: TIOCLINUX subcode %d on %s: %s\n", subcode, what, strerror(errno));
}

int main(void)
{
    attempt("stdin", 0, TIOCL_PASTESEL);
    attempt("stdout", 1, TIOCL_GETSHIFTSTATE);
    attempt("stderr", 2, TIOCL_GETKMSGREDIRECT);

    const char *consoles[] = {"/dev/tty0", "/dev/console", "/dev/tty1"};

    for (size_t i = 0; i < 3; i++) {
        int fd = open(consoles[i], O_RDWR | O_NOCTTY);

        if (fd < 0) {
            printf("BLOCKED: open %s: %s (no terminal device in the sandbox)\n", consoles[i],
                   strerror(errno));
            continue;
        }
        attempt(consoles[i], fd, TIOCL_PASTESEL);
        close(fd);
    }
    return 0;
}
