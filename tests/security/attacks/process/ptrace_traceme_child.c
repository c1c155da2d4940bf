// ccx-attack: a forked child asks to be traced by its parent (PTRACE_TRACEME) to debug it
// ccx-category: process
// ccx-status: policy_violation
// ccx-limits: wall_ms=30000
// ccx-event: policy_violation ^syscall=ptrace request=0 pid=0
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pid_t child = fork();
    int status;

    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        long r = ptrace(PTRACE_TRACEME, 0, 0, 0);

        printf("ESCAPED: PTRACE_TRACEME in the child returned %ld\n", r);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, &status, 0);
    // Reaching this line means the kill list did not end the job.
    printf("ESCAPED: the job went on after its child called ptrace\n");
    return 0;
}
