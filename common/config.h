/* The ccx configuration file (JSON, read with jansson): Redis, limit defaults and ceilings,
 * the sandbox's filesystem view and the language table. The shipped file is
 * deploy/ccx.json; docs/CONFIG.md describes every field. */
#ifndef CCX_COMMON_CONFIG_H
#define CCX_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"

/* The longest a retry waits, however many attempts came before. */
#define CONFIG_RETRY_BACKOFF_CAP_MS 60000

/* One language: how its entry file is named, optionally how it is compiled, how it runs.
 * In argv templates the token "{main}" stands for the entry file's path in the workspace;
 * the job's args are appended to run_argv. */
struct language {
    char *name;              /* "python" */
    char *source_name;       /* file name given to a job's `source`: "main.py" */
    char **compile_argv;     /* NULL-terminated, or NULL when there is no compile step */
    struct limits compile_limits; /* the compile step's own limits */
    char **run_argv;         /* NULL-terminated */
};

/* A symlink created in the sandbox root: path (absolute, inside) -> target. */
struct sandbox_symlink {
    char *path;
    char *target;
};

struct sandbox_config {
    uid_t uid_base;          /* jobs run as host uids/gids from uid_base ... */
    uint64_t uid_count;      /* ... to uid_base + uid_count - 1, one leased to each worker */
    char *uid_lock_dir;      /* host directory of the lease lock files, shared by every
                              * ccx on the machine */
    uid_t inner_uid;         /* the uid and gid a job sees inside its user namespace */
    char **ro_binds;         /* NULL-terminated host paths bound read-only at the same place */
    struct sandbox_symlink *symlinks;
    size_t symlink_count;
    uint64_t tmp_mb;         /* size of /tmp and of /dev/shm inside the sandbox */
    uint64_t inodes;         /* inode cap of each tmpfs (workspace, /tmp, /dev/shm) */
    uint64_t open_files;     /* RLIMIT_NOFILE */
    uint64_t stack_mb;       /* RLIMIT_STACK */
    uint64_t cpu_quota_pct;  /* CPU bandwidth per job: 100 = one CPU */
    char *env_path;          /* PATH, HOME and LANG: the whole environment of a job */
    char *env_home;
    char *env_lang;
    char *hostname;          /* the job's uts name */
    char *run_dir;           /* host directory the worker mounts its private tmpfs on */
    char *cgroup_parent;     /* name of the ccx cgroup subtree: "ccx" */
    char *seccomp_profile;   /* path of the seccomp profile (relative: beside the config) */
};

struct ccx_config {
    char *path;              /* the file it was read from */
    char *redis_url;         /* default for the binaries; --redis and CCX_REDIS_URL win */
    uint64_t result_ttl_s;   /* TTL of ccx:result:<id> and ccx:reply:<id> */
    uint64_t events_maxlen;  /* approximate cap of the ccx:events stream */
    uint64_t max_job_bytes;  /* a job message larger than this is rejected undecoded */
    uint64_t max_files;      /* most files one job may carry */
    uint64_t max_args;       /* most arguments one job may carry */
    uint64_t shutdown_grace_s; /* how long SIGTERM waits for a running job */
    uint64_t lease_ms;       /* a job's lease lasts this long unless renewed (Redis time) */
    uint64_t max_attempts;   /* runs of one job at most, and the ceiling of a job's own */
    uint64_t retry_backoff_ms; /* wait before the 2nd run after internal_error, doubled after */
    uint64_t poison_deliveries; /* holders lost (worker died, lease ran out) before quarantine */
    char *policy_path;       /* the tenant policy file (common/policy.h); NULL: built-in */
    struct limits limits_default;
    struct limits limits_max;
    struct sandbox_config sandbox;
    struct language *languages;
    size_t language_count;
};

/* Reads and checks the file at path. On success returns 0 and *ret_config (free with
 * config_free). On failure returns -errno (-ENOENT, -EINVAL, -ENOMEM) and writes into err a
 * message that names the file, the field and the reason. Does not log. */
int config_load(const char *path, struct ccx_config **ret_config, char *err, size_t err_size);

void config_free(struct ccx_config *config);

/* The language called name, or NULL. */
const struct language *config_language(const struct ccx_config *config, const char *name);

/* The path the binaries read when neither --config nor CCX_CONFIG names one. */
const char *config_default_path(void);

#endif
