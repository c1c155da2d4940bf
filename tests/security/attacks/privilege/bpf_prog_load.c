// ccx-attack: load an eBPF socket filter program with bpf(BPF_PROG_LOAD) to run code in the kernel
// ccx-category: privilege
// ccx-status: policy_violation
// ccx-event: policy_violation ^syscall=bpf cmd=5$
// ccx-limits: wall_ms=30000
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    // "r0 = 0; exit": the smallest program the verifier accepts.
    struct bpf_insn code[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uintptr_t)code;
    attr.insn_cnt = sizeof(code) / sizeof(*code);
    attr.license = (uintptr_t) "GPL";

    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));

    printf("ESCAPED: bpf(BPF_PROG_LOAD) returned %ld and the job went on\n", fd);
    return 0;
}
