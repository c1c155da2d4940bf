// ccx-attack: ptrace-attach to the sandbox's init through int 0x80, i386 number 26
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=ptrace abi=i386 arch=0x40000003 nr=26$
// ccx-limits: wall_ms=30000
// 26 is msync in the x86_64 table, which the profile allows: a filter reading the number
// as native would let this ptrace(PTRACE_ATTACH, 1) through.
#include <stdio.h>

int main(void)
{
    long r;

    __asm__ volatile("int $0x80" : "=a"(r) : "a"(26L), "b"(16L), "c"(1L), "d"(0L), "S"(0L)
                     : "memory");
    printf("ESCAPED: i386 ptrace(PTRACE_ATTACH, 1) returned %ld and the job went on\n", r);
    return 0;
}
