#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "10.0.0.1", &a.sin_addr);
    connect(fd, (struct sockaddr *)&a, sizeof a);
    write(fd, "GET / HTTP/1.0\r\n\r\n", 18);
    return 0;
}
