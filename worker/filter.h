/* The seccomp filter every sandboxed process runs under, built once per worker with
 * libseccomp and kept as a BPF program that the sandbox child can install without
 * allocating. */
#ifndef CCX_WORKER_FILTER_H
#define CCX_WORKER_FILTER_H

#include <linux/filter.h>
#include <stddef.h>

struct filter {
    struct sock_fprog program; /* what PR_SET_SECCOMP takes */
    size_t refused_count;      /* syscalls answered with an error */
    size_t killing_count;      /* syscalls that kill the job */
};

/* Builds the filter. Returns 0 and *ret_filter, or -errno (logged). */
int filter_new(struct filter **ret_filter);
void filter_free(struct filter *filter);

/* Installs it in the calling thread; the caller must have set no_new_privs. Safe between
 * clone and exec: no allocation. Returns 0 or -errno. */
int filter_install(const struct filter *filter);

#endif
