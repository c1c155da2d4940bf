#include <stdio.h>
/* A state machine whose states are named "exec", "wait" and "done". */
enum state { EXEC, WAIT, DONE };
static const char *names[] = {"exec", "wait", "done"};
int main(void)
{
    enum state s = EXEC;
    while (s != DONE) {
        printf("state %s\n", names[s]);
        s = (enum state)(s + 1);
    }
    return 0;
}
