/* The seccomp profile loader and the description of refused calls: what a typo, a forbidden
 * entry or a malformed file does, and what an event says about a call. */
#include <criterion/criterion.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/audit.h>
#include <seccomp.h>

#include "worker/filter.h"
#include "worker/notify.h"
#include "worker/profile.h"

static int parse(const char *text, struct profile **ret_profile, char *err, size_t err_size)
{
    return profile_parse(text, strlen(text), "test.json", ret_profile, err, err_size);
}

static void assert_rejected(const char *text, const char *reason)
{
    struct profile *profile = NULL;
    char err[512] = "";
    int ret = parse(text, &profile, err, sizeof(err));

    cr_assert_eq(ret, -EINVAL, "accepted: %s", text);
    cr_assert_null(profile);
    cr_assert(strstr(err, reason), "error \"%s\" does not say \"%s\"", err, reason);
    cr_assert(strncmp(err, "test.json: ", 11) == 0, "error \"%s\" does not name the file", err);
}

Test(profile, shipped_profile_loads_and_builds)
{
    struct profile *profile = NULL;
    struct filter *filter = NULL;
    char err[512] = "";
    int ret = profile_load(CCX_SOURCE_DIR "/deploy/seccomp.json", &profile, err, sizeof(err));

    cr_assert_eq(ret, 0, "%s", err);
    cr_assert_gt(profile->allow_count, 100);
    cr_assert_gt(profile->kill_count, 5);

    ret = filter_new(profile, "test", true, &filter);
    cr_assert_eq(ret, 0);
    cr_assert(filter_kills(filter, SCMP_SYS(kexec_load)));
    cr_assert(filter_kills(filter, SCMP_SYS(ptrace)));
    cr_assert_not(filter_kills(filter, SCMP_SYS(read)));
    cr_assert_not(filter_kills(filter, SCMP_SYS(mount)));
    filter_free(filter);
    profile_free(profile);
}

Test(profile, names_resolve_to_native_numbers)
{
    struct profile *profile = NULL;
    char err[512];

    cr_assert_eq(parse("{\"allow\": [\"read\", \"write\"], \"kill\": [\"reboot\"]}", &profile,
                       err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(profile->allow_count, 2);
    cr_assert_eq(profile->allow[0], SCMP_SYS(read));
    cr_assert_eq(profile->allow[1], SCMP_SYS(write));
    cr_assert_eq(profile->kill_count, 1);
    cr_assert_eq(profile->kill[0], SCMP_SYS(reboot));
    profile_free(profile);
}

Test(profile, unknown_name_fails_the_load)
{
    assert_rejected("{\"allow\": [\"read\", \"wirte\"], \"kill\": []}",
                    "allow[1]: unknown syscall \"wirte\"");
    assert_rejected("{\"allow\": [], \"kill\": [\"kexec\"]}", "kill[0]: unknown syscall");
}

Test(profile, forbidden_syscalls_cannot_be_allowed)
{
    static const char *const forbidden[] = {"mount", "unshare", "setns", "ptrace", "bpf",
                                            "clone3", "io_uring_setup", "keyctl", "setuid",
                                            "userfaultfd", "perf_event_open", "seccomp"};

    for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden); i++) {
        char text[256];

        snprintf(text, sizeof(text), "{\"allow\": [\"read\", \"%s\"], \"kill\": []}",
                 forbidden[i]);
        assert_rejected(text, "cannot be allowed");
    }
}

Test(profile, a_name_listed_twice_fails)
{
    assert_rejected("{\"allow\": [\"read\", \"read\"], \"kill\": []}", "listed twice");
    assert_rejected("{\"allow\": [\"read\"], \"kill\": [\"read\"]}", "kill[0]: \"read\" is listed");
}

Test(profile, malformed_files_fail_with_a_reason)
{
    assert_rejected("", "line");
    assert_rejected("[]", "must be a JSON object");
    assert_rejected("{\"allow\": [], \"kill\": [], \"deny\": []}", "unknown key \"deny\"");
    assert_rejected("{\"kill\": []}", "\"allow\" must be an array");
    assert_rejected("{\"allow\": []}", "\"kill\" must be an array");
    assert_rejected("{\"allow\": [1], \"kill\": []}", "allow[0]: not a syscall name");
    assert_rejected("{\"allow\": [\"\"], \"kill\": []}", "allow[0]: not a syscall name");
    assert_rejected("{\"allow\": [\"re\\u0000ad\"], \"kill\": []}", "is not allowed");
    assert_rejected("{\"allow\": [], \"allow\": [], \"kill\": []}", "line");
}

Test(profile, missing_file_names_the_path)
{
    struct profile *profile = NULL;
    char err[512] = "";

    cr_assert_eq(profile_load("/nonexistent/seccomp.json", &profile, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "/nonexistent/seccomp.json: cannot open"), "%s", err);
}

static const char *describe(uint32_t arch, int nr, uint64_t a0, uint64_t a1, uint64_t a2,
                            bool *ret_foreign)
{
    static char buf[NOTIFY_DETAIL_MAX];
    struct seccomp_data data = {.nr = nr, .arch = arch, .args = {a0, a1, a2}};

    notify_describe(&data, buf, sizeof(buf), ret_foreign);
    return buf;
}

Test(notify, describes_refused_calls_with_decoded_arguments)
{
    bool foreign = true;

    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(socket), AF_INET6, SOCK_DGRAM |
                              SOCK_CLOEXEC, 17, &foreign),
                     "syscall=socket family=AF_INET6 type=SOCK_DGRAM protocol=17");
    cr_assert_not(foreign);
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(socket), 99, 3, 0, &foreign),
                     "syscall=socket family=99 type=SOCK_RAW protocol=0");
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(clone), CLONE_NEWUSER | CLONE_NEWNET |
                              17, 0, 0, &foreign),
                     "syscall=clone flags=CLONE_NEWUSER|CLONE_NEWNET raw_flags=0x50000011");
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(ioctl), 0, 0x100005412ULL, 0,
                              &foreign),
                     "syscall=ioctl fd=0 request=TIOCSTI raw_request=0x100005412");
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(process_vm_readv), 1, 0x7ff0, 1,
                              &foreign),
                     "syscall=process_vm_readv pid=1");
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(pidfd_getfd), 3, 2, 0, &foreign),
                     "syscall=pidfd_getfd pidfd=3 fd=2");
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(prctl), (1ULL << 32) | 22, 2, 0,
                              &foreign),
                     "syscall=prctl option=PR_SET_SECCOMP raw_option=0x100000016");
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, SCMP_SYS(mount), 1, 2, 3, &foreign),
                     "syscall=mount args=0x1,0x2,0x3");
}

Test(notify, names_foreign_abis)
{
    bool foreign = false;

    cr_assert_str_eq(describe(AUDIT_ARCH_I386, 20, 0, 0, 0, &foreign),
                     "syscall=getpid abi=i386 arch=0x40000003 nr=20");
    cr_assert(foreign);
    foreign = false;
    cr_assert_str_eq(describe(AUDIT_ARCH_X86_64, 39 | 0x40000000, 0, 0, 0, &foreign),
                     "syscall=getpid abi=x32 arch=0xc000003e nr=1073741863");
    cr_assert(foreign);
    cr_assert_str_eq(describe(0x1234, 5, 0, 0, 0, &foreign),
                     "syscall=unknown abi=unknown arch=0x1234 nr=5");
}

Test(notify, description_never_overflows)
{
    char buf[16];
    bool foreign;
    struct seccomp_data data = {.nr = SCMP_SYS(socket), .arch = AUDIT_ARCH_X86_64,
                                .args = {AF_INET, 1, 0}};

    memset(buf, 'x', sizeof(buf));
    notify_describe(&data, buf, sizeof(buf), &foreign);
    cr_assert_eq(buf[sizeof(buf) - 1], '\0');
    cr_assert_str_eq(buf, "syscall=socket ");
}

Test(profile, process_starts_are_fork_vfork_and_clone_without_thread)
{
    cr_assert(filter_starts_process(SCMP_SYS(fork), 0));
    cr_assert(filter_starts_process(SCMP_SYS(vfork), 0));
    cr_assert(filter_starts_process(SCMP_SYS(clone), SIGCHLD));
    cr_assert(filter_starts_process(SCMP_SYS(clone), CLONE_VM | CLONE_VFORK | SIGCHLD));
    cr_assert_not(filter_starts_process(SCMP_SYS(clone),
                                        CLONE_VM | CLONE_THREAD | CLONE_SIGHAND));
    cr_assert_not(filter_starts_process(SCMP_SYS(read), 0));
}

Test(profile, a_filter_without_children_is_built_and_says_so)
{
    struct profile *profile = NULL;
    struct filter *with = NULL, *without = NULL;
    char err[512] = "";

    cr_assert_eq(profile_load(CCX_SOURCE_DIR "/deploy/seccomp.json", &profile, err,
                              sizeof(err)), 0, "%s", err);
    cr_assert_eq(filter_new(profile, "shipped", true, &with), 0);
    cr_assert_eq(filter_new(profile, "shipped", false, &without), 0);
    cr_assert(with->children);
    cr_assert_not(without->children);
    cr_assert_str_eq(without->source, "shipped");
    cr_assert_neq(with->program.len, without->program.len,
                  "fork, vfork and clone must be treated differently");
    filter_free(with);
    filter_free(without);
    profile_free(profile);
}
