#include <linux/if_ether.h>
#include <sys/socket.h>
#include <arpa/inet.h>

int main(void)
{
    char frame[2048];
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    while (recv(fd, frame, sizeof frame, 0) > 0)
        ;
    return 0;
}
