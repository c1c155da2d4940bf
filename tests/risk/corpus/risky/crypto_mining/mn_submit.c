#include <stdio.h>

int main(void)
{
    printf("{\"id\":4,\"method\":\"mining.submit\","
           "\"params\":[\"w\",\"j\",\"00\",\"5e\",\"a1\"]}\n");
    return 0;
}
