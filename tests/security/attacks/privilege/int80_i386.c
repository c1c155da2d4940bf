// ccx-attack: make i386 system calls with int 0x80 from a 64-bit program, past x86_64 rules
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=getpid abi=i386 arch=0x40000003 nr=20$
// ccx-limits: wall_ms=30000
// i386 numbers mean other calls: 20 is getpid there, writev in x86_64. A filter that
// compared numbers only would judge every i386 call as some unrelated native one.
#include <stdio.h>

int main(void)
{
    long r;

    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("ESCAPED: i386 getpid returned %ld and the job went on\n", r);
    return 0;
}
