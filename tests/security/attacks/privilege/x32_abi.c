// ccx-attack: make a call through the x32 ABI (number | 0x40000000), past x86_64-only rules
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=getpid abi=x32 arch=0xc000003e nr=1073741863$
// ccx-limits: wall_ms=30000
// The x32 table reuses the native entry points under other numbers; a filter that names
// x86_64 calls only would let them all through. Here: getpid (39), harmless if it ran.
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000

int main(void)
{
    long r = syscall(X32_SYSCALL_BIT | SYS_getpid);

    printf("ESCAPED: x32 getpid returned %ld and the job went on\n", r);
    return 0;
}
