// ccx-attack: push a command into the terminal with TIOCSTI on fds 0, 1, 2 and /dev/tty
// ccx-category: terminal
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=ioctl fd=0 request=TIOCSTI raw_request=0x5412 errno
// ccx-event: syscall_refused ^syscall=ioctl fd=1 request=TIOCSTI raw_request=0x5412 errno
// ccx-event: syscall_refused ^syscall=ioctl fd=2 request=TIOCSTI raw_request=0x5412 errno
// ccx-steps: 5
// ccx-limits: wall_ms=30000
// Were any of them the worker's or an operator's terminal, the injected line would run as
// that user once the job ended. Here they are a memfd and two pipes, and the filter refuses
// TIOCSTI whatever the descriptor.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char injected[] = "touch /tmp/ccx-escape-tiocsti\n";

static void push(const char *what, int fd)
{
    for (const char *c = injected; *c; c++) {
        if (ioctl(fd, TIOCSTI, c) < 0) {
            printf("BLOCKED: TIOCSTI on %s (fd %d): %s\n", what, fd, strerror(errno));
            return;
        }
    }
    printf("ESCAPED: TIOCSTI on %s (fd %d) pushed a command\n", what, fd);
}

int main(void)
{
    push("stdin", 0);
    push("stdout", 1);
    push("stderr", 2);

    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);

    if (tty < 0) {
        printf("BLOCKED: open /dev/tty: %s (no controlling terminal in the sandbox)\n",
               strerror(errno));
    } else {
        push("/dev/tty", tty);
        close(tty);
    }

    // Make a terminal of one of our fds our controlling one, to push into that.
    if (setsid() < 0 && errno != EPERM)
        perror("setsid");
    if (ioctl(0, TIOCSCTTY, 0) == 0)
        printf("ESCAPED: TIOCSCTTY made fd 0 the controlling terminal\n");
    else
        printf("BLOCKED: TIOCSCTTY on fd 0: %s (no terminal to take)\n", strerror(errno));
    return 0;
}
