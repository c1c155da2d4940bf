#include <netdb.h>
#include <stdio.h>

int main(void)
{
    struct hostent *h = gethostbyname("example.com");
    printf("%s\n", h ? h->h_name : "none");
    return 0;
}
