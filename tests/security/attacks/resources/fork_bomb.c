// ccx-attack: fork bomb: every process forks again and again, to exhaust the process table
// ccx-category: resources
// ccx-status: pids_limit
// ccx-event: pids_limit ^pids=32 refused_forks=[1-9]
// ccx-limits: pids=32 wall_ms=20000
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Far past the limit, yet bounded (256 * 2^4 processes) should the limit not hold. */
#define FIRST_FORKS 256
#define CHILD_ROUNDS 4

/* A child forks on, its children too, then each holds its slot until the job ends. */
static void bomb(void)
{
    for (int round = 0; round < CHILD_ROUNDS; round++)
        fork();
    for (;;)
        pause();
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int n = 1; n <= FIRST_FORKS; n++) {
        pid_t pid = fork();

        if (pid == 0)
            bomb();
        if (pid < 0) {
            printf("BLOCKED: fork bomb: fork %d of the first process: %s\n", n, strerror(errno));
            return 1;
        }
    }
    printf("ESCAPED: fork bomb: the first process forked %d times\n", FIRST_FORKS);
    return 1;
}
