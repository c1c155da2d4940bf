#include <linux/netlink.h>
#include <sys/socket.h>

int main(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    return fd;
}
