// ccx-attack: connect to the host's TCP listener on 127.0.0.1 from C, blocking and non-blocking
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_STREAM protocol=0
// ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_STREAM protocol=6
// ccx-steps: 2
// ccx-args: {tcp_port}
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void attempt(const char *step, int type, int protocol, int port)
{
    struct sockaddr_in host = {.sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, type, protocol);

    if (fd < 0) {
        printf("BLOCKED: %s: socket: %s\n", step, strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&host, sizeof(host)) == 0 || errno == EINPROGRESS)
        printf("ESCAPED: %s: connect to 127.0.0.1:%d started\n", step, port);
    else
        printf("BLOCKED: %s: connect: %s\n", step, strerror(errno));
    close(fd);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;

    attempt("blocking TCP connect", SOCK_STREAM, 0, port);
    attempt("non-blocking TCP connect", SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP,
            port);
    return 0;
}
