#include "worker/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/seccomp.h>
#include <seccomp.h>

#include "common/cleanup.h"
#include "common/log.h"

/* clone flags that create namespaces: a clone asking for any of them is not allowed. */
#define FILTER_NAMESPACE_FLAGS                                                                   \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |   \
     CLONE_NEWCGROUP)

/* personality(0xffffffff) only reads the current persona. */
#define FILTER_PERSONALITY_QUERY 0xffffffffUL

/* Values of an int argument that make an otherwise harmless call harmful. */
struct filter_refused_values {
    int nr;             /* the syscall */
    unsigned int arg;   /* which argument */
    uint64_t values[2]; /* refused; the kernel reads them as 32 bits */
    size_t count;
};

static const struct filter_refused_values filter_refused[] = {
    /* Terminal ioctls that push input into, or read from, a terminal the job does not own. */
    {.nr = SCMP_SYS(ioctl), .arg = 1, .values = {TIOCSTI, TIOCLINUX}, .count = 2},
    /* A filter of the job's own would answer calls before ours sees them (the kernel runs
     * the strictest action of a stack), and hide them from the worker's events. */
    {.nr = SCMP_SYS(prctl), .arg = 0, .values = {PR_SET_SECCOMP}, .count = 1},
    /* Drops the host's page cache of shared files (/usr): other tenants' jobs would read
     * their runtimes from disk again. */
    {.nr = SCMP_SYS(fadvise64), .arg = 3, .values = {POSIX_FADV_DONTNEED}, .count = 1},
};

static int filter_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int arg_count,
                       const struct scmp_arg_cmp *args)
{
    int ret = seccomp_rule_add_array(ctx, action, nr, arg_count, args);

    if (ret < 0)
        log_err("seccomp_rule_failed", "syscall=%d errno=%d", nr, -ret);
    return ret;
}

/* Allows syscall nr for every value of argument arg in [low, high) (high <= 2^32) as
 * aligned power-of-two blocks, one masked comparison each. The kernel reads these
 * arguments as 32-bit ints, so a value with any of the upper 32 bits set must not match
 * (it could hide a refused value there): the masks cover all 64 bits. */
static int filter_allow_int_range(scmp_filter_ctx ctx, int nr, unsigned int arg, uint64_t low,
                                  uint64_t high)
{
    while (low < high) {
        uint64_t block = low ? low & -low : UINT64_C(1) << 32;
        int ret;

        while (low + block > high)
            block >>= 1;

        struct scmp_arg_cmp cmp = {
            .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = ~(block - 1), .datum_b = low};

        ret = filter_rule(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
        if (ret < 0)
            return ret;
        low += block;
    }
    return 0;
}

static int filter_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Allows every 32-bit value of the argument but the refused ones. */
static int filter_allow_int_except(scmp_filter_ctx ctx, const struct filter_refused_values *r)
{
    uint64_t sorted[sizeof(r->values) / sizeof(r->values[0])];
    uint64_t low = 0;
    int ret;

    memcpy(sorted, r->values, r->count * sizeof(sorted[0]));
    qsort(sorted, r->count, sizeof(sorted[0]), filter_compare_u64);
    for (size_t i = 0; i < r->count; i++) {
        ret = filter_allow_int_range(ctx, r->nr, r->arg, low, sorted[i]);
        if (ret < 0)
            return ret;
        low = sorted[i] + 1;
    }
    return filter_allow_int_range(ctx, r->nr, r->arg, low, UINT64_C(1) << 32);
}

/* A syscall the profile allows: unconditionally, or for the few whose arguments decide
 * whether they are harmless, only with those arguments. Without children, clone is allowed
 * for threads only, and fork and vfork not at all: they reach the worker, which refuses them
 * (and lets the job's init start the program: worker/notify.c). */
static int filter_allow(scmp_filter_ctx ctx, int nr, bool children)
{
    struct scmp_arg_cmp arg;
    int ret;

    for (size_t i = 0; i < sizeof(filter_refused) / sizeof(filter_refused[0]); i++) {
        if (filter_refused[i].nr == nr)
            return filter_allow_int_except(ctx, &filter_refused[i]);
    }

    if (!children && (nr == SCMP_SYS(fork) || nr == SCMP_SYS(vfork)))
        return 0;

    if (nr == SCMP_SYS(clone) && !children) {
        arg = SCMP_A0(SCMP_CMP_MASKED_EQ, FILTER_NAMESPACE_FLAGS | CLONE_THREAD, CLONE_THREAD);
    } else if (nr == SCMP_SYS(clone)) {
        arg = SCMP_A0(SCMP_CMP_MASKED_EQ, FILTER_NAMESPACE_FLAGS, 0);
    } else if (nr == SCMP_SYS(socket) || nr == SCMP_SYS(socketpair)) {
        /* A job has no network: only local (AF_UNIX) sockets. */
        arg = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
    } else if (nr == SCMP_SYS(prlimit64)) {
        /* Its own limits only: the job's init is another process, and it is ours. */
        arg = SCMP_A0(SCMP_CMP_EQ, 0);
    } else if (nr == SCMP_SYS(personality)) {
        /* Reading the persona, or setting the plain Linux one; nothing that turns off
         * address randomisation or makes data executable. */
        arg = SCMP_A0(SCMP_CMP_EQ, FILTER_PERSONALITY_QUERY);
        ret = filter_rule(ctx, SCMP_ACT_ALLOW, nr, 1, &arg);
        if (ret < 0)
            return ret;
        arg = SCMP_A0(SCMP_CMP_EQ, PER_LINUX);
    } else {
        return filter_rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
    }
    return filter_rule(ctx, SCMP_ACT_ALLOW, nr, 1, &arg);
}

static int filter_add_rules(scmp_filter_ctx ctx, const struct profile *profile, bool children)
{
    int ret;

    for (size_t i = 0; i < profile->allow_count; i++) {
        ret = filter_allow(ctx, profile->allow[i], children);
        if (ret < 0)
            return ret;
    }

    /* clone3 passes its flags in memory, where seccomp cannot look. ENOSYS makes libc fall
     * back to clone, whose flags the rule above does see; no event, since it is routine. */
    return filter_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
}

/* libseccomp 2.5 exports BPF only to a file descriptor: go through a memfd. */
static int filter_export(scmp_filter_ctx ctx, struct filter *filter)
{
    _cleanup_close_ int fd = memfd_create("ccx-seccomp", MFD_CLOEXEC);
    struct stat st;
    void *code;
    int ret;

    if (fd < 0)
        return -errno;
    ret = seccomp_export_bpf(ctx, fd);
    if (ret < 0)
        return ret;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size == 0 || st.st_size % sizeof(struct sock_filter) != 0)
        return -EINVAL;

    code = malloc(st.st_size);
    if (!code)
        return -ENOMEM;
    if (pread(fd, code, st.st_size, 0) != st.st_size) {
        free(code);
        return -EIO;
    }
    filter->program.filter = code;
    filter->program.len = st.st_size / sizeof(struct sock_filter);
    return 0;
}

static int filter_compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static int filter_copy_kill_list(const struct profile *profile, struct filter *filter)
{
    filter->kill = calloc(profile->kill_count ? profile->kill_count : 1, sizeof(int));
    if (!filter->kill)
        return -ENOMEM;
    memcpy(filter->kill, profile->kill, profile->kill_count * sizeof(int));
    filter->kill_count = profile->kill_count;
    qsort(filter->kill, filter->kill_count, sizeof(int), filter_compare_int);
    return 0;
}

int filter_new(const struct profile *profile, const char *source, bool children,
               struct filter **ret_filter)
{
    struct filter *filter = calloc(1, sizeof(*filter));
    scmp_filter_ctx ctx;
    int ret;

    if (!filter)
        return -ENOMEM;
    filter->children = children;
    filter->source = strdup(source);
    if (!filter->source) {
        free(filter);
        return -ENOMEM;
    }

    /* Refused by default, and every foreign ABI (i386, x32) as well, since its numbers
     * would slip past rules written for the native table: all of it goes to the worker,
     * which answers EPERM or ends the job, and says which call it was. */
    ctx = seccomp_init(SCMP_ACT_NOTIFY);
    if (!ctx) {
        filter_free(filter);
        return -ENOMEM;
    }
    ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_NOTIFY);
    if (ret == 0)
        ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (ret == 0)
        ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (ret == 0)
        ret = filter_add_rules(ctx, profile, children);
    if (ret == 0)
        ret = filter_export(ctx, filter);
    seccomp_release(ctx);
    if (ret == 0)
        ret = filter_copy_kill_list(profile, filter);

    if (ret < 0) {
        log_err("seccomp_build_failed", "errno=%d", -ret);
        filter_free(filter);
        return ret;
    }
    filter->allow_count = profile->allow_count;
    log_debug("seccomp_built", "profile=%s children=%d instructions=%u allowed=%zu killing=%zu",
              source, children, (unsigned)filter->program.len, filter->allow_count,
              filter->kill_count);
    *ret_filter = filter;
    return 0;
}

void filter_free(struct filter *filter)
{
    if (!filter)
        return;
    free(filter->program.filter);
    free(filter->kill);
    free(filter->source);
    free(filter);
}

int filter_install(const struct filter *filter)
{
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                      &filter->program);

    return fd < 0 ? -errno : (int)fd;
}

bool filter_kills(const struct filter *filter, int nr)
{
    return bsearch(&nr, filter->kill, filter->kill_count, sizeof(int), filter_compare_int) != NULL;
}

bool filter_starts_process(int nr, uint64_t arg0)
{
    if (nr == SCMP_SYS(fork) || nr == SCMP_SYS(vfork))
        return true;
    return nr == SCMP_SYS(clone) && !(arg0 & CLONE_THREAD);
}
