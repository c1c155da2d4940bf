// ccx-attack: reach the hypervisor host through AF_VSOCK (CID 2) instead of the network
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=socket family=AF_VSOCK type=SOCK_STREAM
// ccx-event: syscall_refused ^syscall=socket family=AF_VSOCK type=SOCK_DGRAM
// ccx-steps: 2
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

static void attempt(const char *step, int type)
{
    struct sockaddr_vm host = {
        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = 22};
    int fd = socket(AF_VSOCK, type, 0);

    if (fd < 0) {
        printf("BLOCKED: %s: socket: %s\n", step, strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&host, sizeof(host)) < 0)
        printf("ESCAPED: %s: a vsock socket opened (connect: %s)\n", step, strerror(errno));
    else
        printf("ESCAPED: %s: connected to the host's CID 2\n", step);
    close(fd);
}

int main(void)
{
    attempt("vsock stream to CID 2", SOCK_STREAM);
    attempt("vsock datagram to CID 2", SOCK_DGRAM);
    return 0;
}
