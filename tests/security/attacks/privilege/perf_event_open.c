// ccx-attack: open perf events (CPU cycles, kernel tracepoints) to watch the host
// ccx-category: privilege
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=perf_event_open args=0x[0-9a-f]+,0x0,0xffffffff
// ccx-event: syscall_refused ^syscall=perf_event_open args=0x[0-9a-f]+,0xffffffff,0x0
// ccx-steps: 3
// ccx-limits: wall_ms=30000
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void attempt(const char *step, __u32 type, __u64 config, int pid, int cpu)
{
    struct perf_event_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;

    long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);

    if (fd >= 0)
        printf("ESCAPED: perf_event_open(%s) returned %ld\n", step, fd);
    else
        printf("BLOCKED: perf_event_open(%s): %s\n", step, strerror(errno));
}

int main(void)
{
    attempt("own cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0, -1);
    // pid -1 and a cpu: everything that runs on cpu 0, the host's processes included.
    attempt("all of cpu 0", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, -1, 0);
    attempt("own page faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 0, -1);
    return 0;
}
