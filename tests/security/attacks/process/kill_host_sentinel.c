// ccx-attack: kill a host process by its host pid: kill, its process group, tgkill, sigqueue
// ccx-category: process
// ccx-status: ok
// ccx-limits: wall_ms=30000
// ccx-steps: 4
// ccx-args: {sentinel_pid}
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t sentinel;

// A pid of the job's own namespace happens to equal the host pid: then the call's success
// says nothing about the host, so it must be told apart from an escape.
static int pid_is_ours(pid_t pid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d", pid);
    return access(path, F_OK) == 0;
}

static void report(const char *step, long r)
{
    if (r == 0 && !pid_is_ours(sentinel))
        printf("ESCAPED: %s on host pid %d succeeded\n", step, sentinel);
    else if (r == 0)
        printf("BLOCKED: %s: pid %d is one of the job's own\n", step, sentinel);
    else
        printf("BLOCKED: %s: %s\n", step, strerror(errno));
}

int main(int argc, char **argv)
{
    siginfo_t info = {.si_signo = SIGKILL, .si_code = SI_QUEUE};

    if (argc < 2)
        return 2;
    sentinel = atoi(argv[1]);
    report("kill(sentinel, SIGKILL)", kill(sentinel, SIGKILL));
    report("kill(-sentinel, SIGKILL)", kill(-sentinel, SIGKILL));
    report("tgkill(sentinel, sentinel, SIGKILL)",
           syscall(SYS_tgkill, sentinel, sentinel, SIGKILL));
    report("rt_sigqueueinfo(sentinel, SIGKILL)",
           syscall(SYS_rt_sigqueueinfo, sentinel, SIGKILL, &info));
    return 0;
}
