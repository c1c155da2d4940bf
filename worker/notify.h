/* The worker's side of seccomp user notification: every call a job's filter does not allow
 * arrives here, is answered EPERM (or ends the job, for the profile's kill list and any
 * foreign ABI), and is described for the security event that says what was stopped. */
#ifndef CCX_WORKER_NOTIFY_H
#define CCX_WORKER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/seccomp.h>

#include "worker/filter.h"

/* Long enough for the syscall's name and its decoded arguments. */
#define NOTIFY_DETAIL_MAX 256

struct notifier;

enum notify_action {
    NOTIFY_REFUSED,  /* answered EPERM: the program goes on */
    NOTIFY_KILL,     /* not answered: the caller must end the job now */
    NOTIFY_ALLOWED,  /* let through: the job's init starting the program (see notify_answer) */
};

struct notify_call {
    enum notify_action action;
    char detail[NOTIFY_DETAIL_MAX]; /* "syscall=socket family=AF_INET type=SOCK_STREAM ..." */
};

/* Buffers sized for this kernel's notification structs. Returns 0 or -errno. */
int notify_new(struct notifier **ret_notifier);
void notify_free(struct notifier *notifier);

/* Takes one pending call from listener_fd (the caller saw it readable), decides and answers
 * it. Under a filter without children, *spawner is the job's init (its pid as this process
 * sees it), which must start the program: its first call that starts a process is let
 * through, once (*spawner becomes 0), and every other one is refused like any call the
 * filter does not allow, its detail ending "children=refused". Returns 0 with *ret_call
 * filled; -ENOENT when the calling thread was gone before the call could be read (nothing
 * to report); other -errno on failure. */
int notify_answer(struct notifier *notifier, int listener_fd, const struct filter *filter,
                  pid_t *spawner, struct notify_call *ret_call);

/* Writes "syscall=<name> <decoded arguments>" for the call in data into buf, and tells
 * whether it came through a foreign ABI (i386, x32). */
void notify_describe(const struct seccomp_data *data, char *buf, size_t size,
                     bool *ret_foreign_abi);

#endif
