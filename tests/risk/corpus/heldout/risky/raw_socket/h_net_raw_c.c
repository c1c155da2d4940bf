#include <sys/socket.h>
#include <netinet/in.h>
int main(void) { int s = socket(AF_INET, SOCK_RAW, IPPROTO_TCP); return s < 0; }
