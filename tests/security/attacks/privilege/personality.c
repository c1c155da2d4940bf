// ccx-attack: switch personality to make data executable or turn address randomisation off
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=personality persona=0x400000 errno
// ccx-event: syscall_refused ^syscall=personality persona=0x40000 errno
// ccx-event: syscall_refused ^syscall=personality persona=0x8 errno
// ccx-event: syscall_refused ^syscall=personality persona=0x440000 errno
// ccx-event: syscall_refused ^syscall=personality persona=0x100000 errno
// ccx-steps: 6
// ccx-limits: wall_ms=30000
// The filter lets through only the query (0xffffffff) and plain PER_LINUX (0); both are
// tried first, and must work, since Python and coreutils use them.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

static const struct {
    unsigned long persona;
    const char *name;
} attempts[] = {
    {PER_LINUX | READ_IMPLIES_EXEC, "READ_IMPLIES_EXEC"},
    {PER_LINUX | ADDR_NO_RANDOMIZE, "ADDR_NO_RANDOMIZE"},
    {PER_LINUX32, "PER_LINUX32"},
    {PER_LINUX | ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC, "ADDR_NO_RANDOMIZE|READ_IMPLIES_EXEC"},
    {PER_LINUX | MMAP_PAGE_ZERO, "MMAP_PAGE_ZERO"},
};

int main(void)
{
    int before = personality(0xffffffff);

    printf("query: 0x%x; PER_LINUX: %s\n", before,
           personality(PER_LINUX) >= 0 ? "allowed" : strerror(errno));

    for (size_t i = 0; i < sizeof(attempts) / sizeof(*attempts); i++) {
        personality(attempts[i].persona);
        // personality() returns the old value, so success shows only in the new one.
        int now = personality(0xffffffff);

        if (now == (int)attempts[i].persona)
            printf("ESCAPED: personality(%s): now 0x%x\n", attempts[i].name, now);
        else
            printf("BLOCKED: personality(%s): %s, still 0x%x\n", attempts[i].name,
                   strerror(errno), now);
    }

    // What the kernel holds, and what every program the job execs would inherit.
    FILE *file = fopen("/proc/self/personality", "r");
    unsigned int persona = 0;

    if (file && fscanf(file, "%x", &persona) == 1 && !(persona & ADDR_NO_RANDOMIZE))
        printf("BLOCKED: /proc/self/personality: 0x%08x, randomisation on\n", persona);
    else
        printf("ESCAPED: /proc/self/personality says 0x%08x\n", persona);
    if (file)
        fclose(file);
    return 0;
}
