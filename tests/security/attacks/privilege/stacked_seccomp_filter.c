// ccx-attack: install a seccomp filter of the job's own that answers calls before ccx's does
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=prctl option=PR_SET_SECCOMP raw_option=0x16 errno
// ccx-event: syscall_refused ^syscall=prctl option=PR_SET_SECCOMP raw_option=0x100000016 errno
// ccx-event: syscall_refused ^syscall=seccomp
// ccx-event: syscall_refused ^syscall=socket family=AF_INET type=SOCK_STREAM
// ccx-steps: 4
// A stacked filter that returned EPERM for socket, ptrace or int 0x80 would hide those calls
// from the worker (the kernel takes the strictest action of all filters): no event, no
// policy_violation. Installing one must fail, and the worker must still see what follows.
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Answers every call EPERM: once stacked, ccx would never hear of anything again. */
static struct sock_filter deny_all[] = {
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
};
static struct sock_fprog program = {.len = 1, .filter = deny_all};

static void report(const char *step, long ret)
{
    if (ret == 0)
        printf("ESCAPED: %s installed a filter of the job's own\n", step);
    else
        printf("BLOCKED: %s: %s\n", step, strerror(errno));
}

int main(void)
{
    int fd;

    setvbuf(stdout, NULL, _IONBF, 0);
    report("prctl(PR_SET_SECCOMP)", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0));
    /* The kernel reads the option as an int: garbage in the upper bits must not hide it. */
    report("prctl(PR_SET_SECCOMP | 1 << 32)",
           syscall(SYS_prctl, (1UL << 32) | PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0,
                   0));
    report("seccomp(SECCOMP_SET_MODE_FILTER)",
           syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program));

    /* Still watched: this refusal must reach the events. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0)
        printf("ESCAPED: an AF_INET socket\n");
    else
        printf("BLOCKED: socket(AF_INET) after the attempts: %s\n", strerror(errno));
    return 0;
}
