#include <netinet/ip_icmp.h>
#include <sys/socket.h>

int main(void)
{
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    return fd < 0;
}
