#include <unistd.h>
int main(void) { execlp("sh", "sh", "-c", "uname -a", (char *)NULL); return 127; }
