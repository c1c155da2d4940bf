// ccx-attack: set up io_uring, whose IORING_OP_SOCKET/CONNECT would bypass seccomp's socket rule
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=io_uring_setup
// ccx-steps: 1
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/io_uring.h>

int main(void)
{
    struct io_uring_params params;
    long fd;

    memset(&params, 0, sizeof(params));
    fd = syscall(SYS_io_uring_setup, 8, &params);
    // A ring's operations run in the kernel without passing the filter again.
    if (fd >= 0)
        printf("ESCAPED: io_uring_setup gave ring fd %ld: sockets past seccomp\n", fd);
    else
        printf("BLOCKED: io_uring_setup: %s\n", strerror(errno));
    return 0;
}
