// ccx-attack: load a kernel module from memory with init_module(2)
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=init_module
// ccx-limits: wall_ms=30000
// Not a real module: the call must end the job before the kernel parses a byte of it.
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    static char image[4096] = "\177ELF";
    long r = syscall(SYS_init_module, image, sizeof(image), "");

    printf("ESCAPED: init_module returned %ld and the job went on\n", r);
    return 0;
}
