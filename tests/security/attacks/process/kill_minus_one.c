// ccx-attack: kill(-1, SIGKILL) to take down every process the job's uid may signal
// ccx-category: process
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-steps: 2
// ccx-args: {sentinel_pid}
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    pid_t sentinel = argc > 1 ? atoi(argv[1]) : 0;
    pid_t child = fork();
    int status = 0;
    int r;

    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        pause();  // a process of the job, which kill(-1) may and should reach
        _exit(0);
    }
    r = kill(-1, SIGKILL);
    printf("kill(-1, SIGKILL) returned %d (%s)\n", r, r ? strerror(errno) : "ok");
    waitpid(child, &status, 0);

    // What a kill(-1) reached must be the job's own: its child, never its init.
    if (kill(1, 0) == 0)
        printf("BLOCKED: kill(-1) spared the job's init (pid 1 lives)\n");
    else
        printf("ESCAPED: kill(-1) took down pid 1: %s\n", strerror(errno));
    // The sentinel's host pid means nothing here; the suite checks that it lives.
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        printf("BLOCKED: kill(-1) reached only the job's namespace (its child died; host "
               "pid %d is not in it)\n", sentinel);
    else
        printf("ESCAPED: kill(-1) did not behave as in a pid namespace: child status %d\n",
               status);
    return 0;
}
