/* Reading a seccomp profile. A profile is an allow-list, so a mistake in it either breaks
 * programs (a name left out) or opens a hole (a name that should never be there, or a typo
 * that silently matches nothing): the second kind fails the load here, with the entry named. */
#include "worker/profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <seccomp.h>

/* Profiles are small; anything bigger is not one. */
#define PROFILE_MAX_ENTRIES 1024
#define PROFILE_NAME_MAX 64

/* Syscalls no profile may allow: each would undo a layer of the sandbox (namespaces, mounts,
 * the filter itself), reach another process's memory, or open a kernel surface with a long
 * record of privilege escalations. clone3 is answered ENOSYS by ccx (its flags are out of
 * the filter's sight) and clone, ioctl, socket and the like are allowed only with ccx's own
 * argument checks (see filter.c), so listing those is fine. */
static const char *const profile_forbidden[] = {
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns", "clone3",
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
    "kcmp", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at",
    "name_to_handle_at", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "iopl", "ioperm", "seccomp",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "memfd_secret", "acct", "quotactl", "syslog",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "fanotify_init", "lookup_dcookie", "vhangup", "uselib", "nfsservctl",
    NULL,
};

struct profile_parser {
    const char *name;
    char *err;
    size_t err_size;
};

static int profile_fail(struct profile_parser *parser, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes "<file>: <reason>" into the error buffer. Returns -EINVAL. */
static int profile_fail(struct profile_parser *parser, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);

    if (parser->err && parser->err_size > 0)
        snprintf(parser->err, parser->err_size, "%s: %s", parser->name, reason);
    return -EINVAL;
}

static bool profile_is_forbidden(const char *name)
{
    for (const char *const *forbidden = profile_forbidden; *forbidden; forbidden++) {
        if (strcmp(*forbidden, name) == 0)
            return true;
    }
    return false;
}

static bool profile_contains(const int *numbers, size_t count, int nr)
{
    for (size_t i = 0; i < count; i++) {
        if (numbers[i] == nr)
            return true;
    }
    return false;
}

/* Resolves the names of one list into *ret_numbers. `other` is the list read before, which
 * must not hold any of them either. */
static int profile_read_list(struct profile_parser *parser, json_t *root, const char *key,
                             bool allowing, const int *other, size_t other_count,
                             int **ret_numbers, size_t *ret_count)
{
    json_t *list = json_object_get(root, key);
    size_t count;
    int *numbers;

    if (!json_is_array(list))
        return profile_fail(parser, "\"%s\" must be an array of syscall names", key);
    count = json_array_size(list);
    if (count > PROFILE_MAX_ENTRIES)
        return profile_fail(parser, "\"%s\" has %zu entries, at most %d", key, count,
                            PROFILE_MAX_ENTRIES);

    numbers = calloc(count ? count : 1, sizeof(*numbers));
    if (!numbers)
        return -ENOMEM;

    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(list, i);
        const char *name = json_string_value(item);
        int nr;

        if (!name || strlen(name) != json_string_length(item) || strlen(name) == 0 ||
            strlen(name) > PROFILE_NAME_MAX) {
            free(numbers);
            return profile_fail(parser, "%s[%zu]: not a syscall name", key, i);
        }
        if (allowing && profile_is_forbidden(name)) {
            free(numbers);
            return profile_fail(parser, "%s[%zu]: \"%s\" cannot be allowed: ccx refuses it "
                                "to every job", key, i, name);
        }

        /* Names of the worker's own architecture: the filter refuses every other ABI. */
        nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR || nr < 0) {
            free(numbers);
            return profile_fail(parser, "%s[%zu]: unknown syscall \"%s\"", key, i, name);
        }
        if (profile_contains(numbers, i, nr) || profile_contains(other, other_count, nr)) {
            free(numbers);
            return profile_fail(parser, "%s[%zu]: \"%s\" is listed twice", key, i, name);
        }
        numbers[i] = nr;
    }
    *ret_numbers = numbers;
    *ret_count = count;
    return 0;
}

static int profile_check_keys(struct profile_parser *parser, json_t *root)
{
    const char *key;
    json_t *value;

    if (!json_is_object(root))
        return profile_fail(parser, "the profile must be a JSON object");
    json_object_foreach(root, key, value) {
        if (strcmp(key, "allow") != 0 && strcmp(key, "kill") != 0 && strcmp(key, "comment") != 0)
            return profile_fail(parser, "unknown key \"%s\" (expected allow, kill, comment)",
                                key);
    }
    return 0;
}

int profile_parse(const char *text, size_t size, const char *name, struct profile **ret_profile,
                  char *err, size_t err_size)
{
    struct profile_parser parser = {.name = name, .err = err, .err_size = err_size};
    struct profile *profile;
    json_error_t json_error;
    json_t *root;
    int ret;

    root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &json_error);
    if (!root)
        return profile_fail(&parser, "line %d: %s", json_error.line, json_error.text);

    profile = calloc(1, sizeof(*profile));
    if (!profile) {
        json_decref(root);
        return -ENOMEM;
    }

    ret = profile_check_keys(&parser, root);
    if (ret == 0)
        ret = profile_read_list(&parser, root, "allow", true, NULL, 0, &profile->allow,
                                &profile->allow_count);
    if (ret == 0)
        ret = profile_read_list(&parser, root, "kill", false, profile->allow,
                                profile->allow_count, &profile->kill, &profile->kill_count);
    json_decref(root);

    if (ret < 0) {
        profile_free(profile);
        return ret;
    }
    *ret_profile = profile;
    return 0;
}

int profile_load(const char *path, struct profile **ret_profile, char *err, size_t err_size)
{
    struct profile_parser parser = {.name = path, .err = err, .err_size = err_size};
    FILE *file = fopen(path, "re");
    char *text = NULL;
    size_t size = 0;
    int ret;

    if (!file) {
        ret = -errno;
        profile_fail(&parser, "cannot open: %s", strerror(-ret));
        return ret;
    }

    /* Read whole, with a ceiling: a profile is a few kilobytes. */
    text = malloc(1 << 20);
    if (!text) {
        fclose(file);
        return -ENOMEM;
    }
    size = fread(text, 1, 1 << 20, file);
    ret = ferror(file) ? -EIO : 0;
    if (ret == 0 && !feof(file))
        ret = profile_fail(&parser, "larger than 1 MiB: not a profile");
    fclose(file);

    if (ret == 0)
        ret = profile_parse(text, size, path, ret_profile, err, err_size);
    free(text);
    return ret;
}

void profile_free(struct profile *profile)
{
    if (!profile)
        return;
    free(profile->allow);
    free(profile->kill);
    free(profile);
}
