// ccx-attack: open netlink sockets that see beyond the job: sock_diag, uevents, audit, netfilter
// ccx-category: network
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-event: syscall_refused ^syscall=socket family=AF_NETLINK type=SOCK_DGRAM protocol=4
// ccx-event: syscall_refused ^syscall=socket family=AF_NETLINK type=SOCK_DGRAM protocol=15
// ccx-event: syscall_refused ^syscall=socket family=AF_NETLINK type=SOCK_RAW protocol=9
// ccx-event: syscall_refused ^syscall=socket family=AF_NETLINK type=SOCK_RAW protocol=12
// ccx-steps: 4
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

int main(void)
{
    static const struct {
        const char *name;
        int type, protocol;
    } targets[] = {
        {"NETLINK_SOCK_DIAG (every socket of the netns)", SOCK_DGRAM, NETLINK_SOCK_DIAG},
        {"NETLINK_KOBJECT_UEVENT (host device events)", SOCK_DGRAM, NETLINK_KOBJECT_UEVENT},
        {"NETLINK_AUDIT (the host's audit log)", SOCK_RAW, NETLINK_AUDIT},
        {"NETLINK_NETFILTER (firewall rules)", SOCK_RAW, NETLINK_NETFILTER},
    };

    for (size_t i = 0; i < sizeof(targets) / sizeof(*targets); i++) {
        int fd = socket(AF_NETLINK, targets[i].type | SOCK_CLOEXEC, targets[i].protocol);

        if (fd < 0) {
            printf("BLOCKED: %s: %s\n", targets[i].name, strerror(errno));
        } else {
            printf("ESCAPED: %s: socket opened\n", targets[i].name);
            close(fd);
        }
    }
    return 0;
}
