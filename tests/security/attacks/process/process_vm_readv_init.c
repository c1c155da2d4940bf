// ccx-attack: read the memory of pid 1, the job's init, with process_vm_readv
// ccx-category: process
// ccx-status: policy_violation
// ccx-limits: wall_ms=30000
// ccx-event: policy_violation ^syscall=process_vm_readv pid=1$
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/uio.h>

int main(void)
{
    char buf[4096];
    struct iovec local = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct iovec remote = {.iov_base = (void *)0x400000, .iov_len = sizeof(buf)};
    ssize_t n = process_vm_readv(1, &local, 1, &remote, 1, 0);

    printf("ESCAPED: process_vm_readv(1) returned %zd\n", n);
    return 0;
}
