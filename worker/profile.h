/* The seccomp profile: which syscalls a job may make (the allow-list) and which end it on
 * the spot (the kill list), read from a JSON file such as deploy/seccomp.json. Everything
 * else is refused. docs/SANDBOX.md describes the format and the rules a profile must keep. */
#ifndef CCX_WORKER_PROFILE_H
#define CCX_WORKER_PROFILE_H

#include <stddef.h>

/* Syscall numbers of the native ABI, resolved from the names in the file. */
struct profile {
    int *allow;
    size_t allow_count;
    int *kill;
    size_t kill_count;
};

/* Reads the profile at path. Returns 0 and *ret_profile (free with profile_free), or -errno
 * with a message in err naming the file, the entry and the reason: an unknown syscall name,
 * a name listed twice, or a syscall that ccx never lets a job make. Does not log. */
int profile_load(const char *path, struct profile **ret_profile, char *err, size_t err_size);

/* The same from text in memory; name stands for the file in messages. */
int profile_parse(const char *text, size_t size, const char *name, struct profile **ret_profile,
                  char *err, size_t err_size);

void profile_free(struct profile *profile);

#endif
