/* The seccomp filter every sandboxed process runs under: an allow-list built once per worker
 * from the seccomp profile with libseccomp, and kept as a BPF program that the sandbox child
 * installs without allocating. Whatever the filter does not allow goes to the worker through
 * seccomp user notification (worker/notify.c), which refuses it or ends the job. */
#ifndef CCX_WORKER_FILTER_H
#define CCX_WORKER_FILTER_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/profile.h"

struct filter {
    struct sock_fprog program; /* what seccomp(SECCOMP_SET_MODE_FILTER) takes */
    int *kill;                 /* native syscall numbers that end the job, sorted */
    size_t kill_count;
    size_t allow_count;
    bool children;             /* false: the calls that start a process are not allowed */
    char *source;              /* the profile's path, for logs and the result's enforced map */
};

/* Builds the filter from profile, read from source. With children false, the calls that start
 * a process (filter_starts_process) are left to the worker even when the profile allows
 * them, while clone of a thread stays allowed. Returns 0 and *ret_filter, or -errno
 * (logged). */
int filter_new(const struct profile *profile, const char *source, bool children,
               struct filter **ret_filter);
void filter_free(struct filter *filter);

/* Installs it in the calling thread and returns the listener descriptor that receives the
 * calls it does not allow, or -errno. The caller must have set no_new_privs. Safe between
 * clone and exec: no allocation. */
int filter_install(const struct filter *filter);

/* True when the native syscall nr ends the job (the profile's kill list). */
bool filter_kills(const struct filter *filter, int nr);

/* True when the native syscall nr with first argument arg0 starts a process: fork, vfork,
 * or clone without CLONE_THREAD. */
bool filter_starts_process(int nr, uint64_t arg0);

#endif
