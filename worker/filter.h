/* The seccomp filter every sandboxed process runs under: an allow-list built once per worker
 * from the seccomp profile with libseccomp, and kept as a BPF program that the sandbox child
 * installs without allocating. Whatever the filter does not allow goes to the worker through
 * seccomp user notification (worker/notify.c), which refuses it or ends the job. */
#ifndef CCX_WORKER_FILTER_H
#define CCX_WORKER_FILTER_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

#include "worker/profile.h"

struct filter {
    struct sock_fprog program; /* what seccomp(SECCOMP_SET_MODE_FILTER) takes */
    int *kill;                 /* native syscall numbers that end the job, sorted */
    size_t kill_count;
    size_t allow_count;
};

/* Builds the filter from profile. Returns 0 and *ret_filter, or -errno (logged). */
int filter_new(const struct profile *profile, struct filter **ret_filter);
void filter_free(struct filter *filter);

/* Installs it in the calling thread and returns the listener descriptor that receives the
 * calls it does not allow, or -errno. The caller must have set no_new_privs. Safe between
 * clone and exec: no allocation. */
int filter_install(const struct filter *filter);

/* True when the native syscall nr ends the job (the profile's kill list). */
bool filter_kills(const struct filter *filter, int nr);

#endif
