// ccx-attack: open a raw ICMP socket and ping 127.0.0.1, as a network tool would
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_RAW protocol=1
// ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_RAW protocol=255
// ccx-steps: 2
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void attempt(const char *step, int protocol)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct icmphdr echo = {.type = ICMP_ECHO};
    int fd = socket(AF_INET, SOCK_RAW, protocol);

    if (fd < 0) {
        printf("BLOCKED: %s: socket: %s\n", step, strerror(errno));
        return;
    }
    if (sendto(fd, &echo, sizeof(echo), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
        printf("BLOCKED: %s: sendto: %s\n", step, strerror(errno));
    else
        printf("ESCAPED: %s: sent a raw packet to 127.0.0.1\n", step);
    close(fd);
}

int main(void)
{
    attempt("raw ICMP socket", IPPROTO_ICMP);
    attempt("raw IP socket (IPPROTO_RAW)", IPPROTO_RAW);
    return 0;
}
