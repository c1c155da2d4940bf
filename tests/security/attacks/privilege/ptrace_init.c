// ccx-attack: attach with ptrace to pid 1, the sandbox's init, to take it over
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=ptrace request=16 pid=1
#include <stdio.h>
#include <sys/ptrace.h>

int main(void)
{
    long r = ptrace(PTRACE_ATTACH, 1, 0, 0);

    printf("ESCAPED: ptrace(PTRACE_ATTACH, 1) returned %ld\n", r);
    return 0;
}
