// ccx-attack: set up an io_uring, whose requests would run past the seccomp filter
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=io_uring_setup args=0x8,
// ccx-event: syscall_refused ^syscall=io_uring_enter
// ccx-event: syscall_refused ^syscall=io_uring_register
// ccx-steps: 3
// ccx-limits: wall_ms=30000
// Operations submitted through a ring (openat, connect, socket...) are done by the kernel
// without a system call of the job's, so seccomp would never see them.
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    struct io_uring_params params;

    memset(&params, 0, sizeof(params));
    long fd = syscall(SYS_io_uring_setup, 8, &params);

    if (fd >= 0)
        printf("ESCAPED: io_uring_setup(8) returned ring %ld\n", fd);
    else
        printf("BLOCKED: io_uring_setup(8): %s\n", strerror(errno));

    // Should a ring come from elsewhere, using one must be refused as well.
    int ring = fd >= 0 ? (int)fd : 0;

    if (syscall(SYS_io_uring_enter, ring, 1, 0, 0, NULL, 0) >= 0)
        printf("ESCAPED: io_uring_enter(%d) went through\n", ring);
    else
        printf("BLOCKED: io_uring_enter(%d): %s\n", ring, strerror(errno));
    if (syscall(SYS_io_uring_register, ring, IORING_REGISTER_PROBE, NULL, 0) >= 0)
        printf("ESCAPED: io_uring_register(%d) went through\n", ring);
    else
        printf("BLOCKED: io_uring_register(%d): %s\n", ring, strerror(errno));
    return 0;
}
