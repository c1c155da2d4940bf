// ccx-attack: replace the running kernel with kexec_load(2)
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=kexec_load
// ccx-limits: wall_ms=30000
// No segments: the call must end the job before the kernel looks at its arguments.
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long r = syscall(SYS_kexec_load, 0x100000UL, 0UL, NULL, 0UL);

    printf("ESCAPED: kexec_load returned %ld and the job went on\n", r);
    return 0;
}
