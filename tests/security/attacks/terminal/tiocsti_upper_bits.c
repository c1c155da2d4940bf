// ccx-attack: TIOCSTI and TIOCLINUX with garbage in the request's upper 32 bits
// ccx-category: terminal
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=ioctl fd=0 request=TIOCSTI raw_request=0xdeadbeef00005412
// ccx-event: syscall_refused ^syscall=ioctl fd=1 request=TIOCSTI raw_request=0xffffffff00005412
// ccx-event: syscall_refused ^syscall=ioctl fd=2 request=TIOCSTI raw_request=0x100005412 errno
// ccx-event: syscall_refused ^syscall=ioctl fd=0 request=TIOCLINUX raw_request=0x800000000000541c
// ccx-steps: 4
// ccx-limits: wall_ms=30000
// The kernel reads ioctl's request as 32 bits, so each of these is TIOCSTI (TIOCLINUX) to
// it; a filter comparing all 64 bits for equality with 0x5412 would let them through.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
    int fd;
    uint64_t request;
} attempts[] = {
    {0, 0xdeadbeef00000000ULL | TIOCSTI},
    {1, 0xffffffff00000000ULL | TIOCSTI},
    {2, 0x0000000100000000ULL | TIOCSTI},
    {0, 0x8000000000000000ULL | TIOCLINUX},
};

int main(void)
{
    char c = 'x';

    for (size_t i = 0; i < sizeof(attempts) / sizeof(*attempts); i++) {
        // glibc's ioctl() takes an unsigned long; the raw call shows what is passed.
        long r = syscall(SYS_ioctl, attempts[i].fd, attempts[i].request, &c);

        if (r == 0)
            printf("ESCAPED: ioctl(%d, 0x%llx) went through\n", attempts[i].fd,
                   (unsigned long long)attempts[i].request);
        else if (errno == ENOTTY)
            // The kernel saw it: the filter let it pass, and only the fd type saved us.
            printf("ESCAPED: ioctl(%d, 0x%llx) reached the kernel: %s\n", attempts[i].fd,
                   (unsigned long long)attempts[i].request, strerror(errno));
        else
            printf("BLOCKED: ioctl(%d, 0x%llx): %s\n", attempts[i].fd,
                   (unsigned long long)attempts[i].request, strerror(errno));
    }
    return 0;
}
