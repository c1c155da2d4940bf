/* The sandbox and runner against the real kernel: namespaces, cgroups, seccomp. Needs root,
 * as ccx-worker does. Each test runs real programs through runner_run, exactly as a job
 * taken from Redis would be run, and checks the result. The cgroup parent is
 * "ccx-$CCX_TEST_PREFIX" when that is set, so that the suite can run beside other fleets. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdbool.h>
#include <glob.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "common/config.h"
#include "common/job.h"
#include "common/policy.h"
#include "common/result.h"
#include "worker/cgroup.h"
#include "worker/filter_set.h"
#include "worker/runner.h"
#include "worker/sandbox.h"

#include "policy_fixture.h"
#include "sandbox_fixture.h"

static struct ccx_config *config;
static struct sandbox *sandbox;

static void setup(void)
{
    config = fixture_config();
    if (getenv("CCX_TEST_PREFIX")) {
        free(config->sandbox.cgroup_parent);
        cr_assert_geq(asprintf(&config->sandbox.cgroup_parent, "ccx-%s",
                               getenv("CCX_TEST_PREFIX")), 0);
    }
    sandbox = fixture_sandbox(config);
}

static void teardown(void)
{
    fixture_teardown(config, sandbox);
}

struct job_spec {
    const char *tenant;          /* "default" when NULL */
    const char *language;
    const char *source;
    const char *stdin_text;
    const char *extra_file_path; /* one more file beside the entry, when set */
    const char *extra_file_text;
    const char *limit_names[4];
    uint64_t limit_values[4];
};

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Encodes the spec as a client would, and decodes it with the real decoder. */
static struct job *make_job(const struct job_spec *spec)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    struct job *job = NULL;
    size_t limit_count = 0;
    int ret;

    while (limit_count < 4 && spec->limit_names[limit_count])
        limit_count++;

    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (spec->extra_file_path ? 6 : 5) + (spec->tenant ? 1 : 0));
    pack_str(&pk, "id");
    pack_str(&pk, "test-job");
    if (spec->tenant) {
        pack_str(&pk, "tenant");
        pack_str(&pk, spec->tenant);
    }
    pack_str(&pk, "language");
    pack_str(&pk, spec->language);
    if (spec->extra_file_path) {
        pack_str(&pk, "files");
        msgpack_pack_map(&pk, 2);
        pack_str(&pk, "main.x");
        pack_str(&pk, spec->source);
        pack_str(&pk, spec->extra_file_path);
        pack_str(&pk, spec->extra_file_text);
        pack_str(&pk, "main");
        pack_str(&pk, "main.x");
    } else {
        pack_str(&pk, "source");
        pack_str(&pk, spec->source);
    }
    pack_str(&pk, "stdin");
    pack_str(&pk, spec->stdin_text ? spec->stdin_text : "");
    pack_str(&pk, "limits");
    msgpack_pack_map(&pk, limit_count);
    for (size_t i = 0; i < limit_count; i++) {
        pack_str(&pk, spec->limit_names[i]);
        msgpack_pack_uint64(&pk, spec->limit_values[i]);
    }

    ret = job_decode(buf.data, buf.size, "1-1", config, &job);
    msgpack_sbuffer_destroy(&buf);
    cr_assert_eq(ret, 0);
    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    return job;
}

static void run_spec_as_tenant(const struct job_spec *spec, const struct policy_cgroup *policy,
                               struct result *result)
{
    struct job *job = make_job(spec);
    int ret = runner_run(sandbox, config, job, NULL, policy, result);

    cr_assert_eq(ret, 0, "runner_run: %d", ret);
    /* meta is borrowed from the job; these tests send none. */
    result->meta = NULL;
    job_free(job);
}

static void run_spec(const struct job_spec *spec, struct result *result)
{
    run_spec_as_tenant(spec, NULL, result);
}

static char *stdout_text(const struct result *result)
{
    char *text = calloc(1, result->run.stdout_size + 1);

    cr_assert_not_null(text);
    memcpy(text, result->run.stdout_data, result->run.stdout_size);
    return text;
}

static bool has_event(const struct result *result, const char *kind)
{
    for (size_t i = 0; i < result->events.count; i++) {
        if (strcmp(result->events.items[i].kind, kind) == 0)
            return true;
    }
    return false;
}

static size_t count_events(const struct result *result, const char *kind)
{
    size_t count = 0;

    for (size_t i = 0; i < result->events.count; i++)
        count += strcmp(result->events.items[i].kind, kind) == 0;
    return count;
}

/* Asserts an event of kind whose detail starts with prefix. */
static void assert_event(const struct result *result, const char *kind, const char *prefix)
{
    for (size_t i = 0; i < result->events.count; i++) {
        const struct sandbox_event *event = &result->events.items[i];

        if (strcmp(event->kind, kind) == 0 &&
            strncmp(event->detail, prefix, strlen(prefix)) == 0)
            return;
    }
    for (size_t i = 0; i < result->events.count; i++)
        cr_log_error("event %s: %s", result->events.items[i].kind,
                     result->events.items[i].detail);
    cr_assert_fail("no %s event starting \"%s\"", kind, prefix);
}

#define assert_status(result, expected)                                                           \
    cr_assert_eq((result)->status, (expected), "status %s, expected %s; reason %s; stderr %.*s",  \
                 job_status_name((result)->status), job_status_name(expected),                    \
                 (result)->reason ? (result)->reason : "-", (int)(result)->run.stderr_size,        \
                 (const char *)(result)->run.stderr_data)

TestSuite(sandbox, .init = setup, .fini = teardown, .timeout = 120);

/* Two workers given the same slot (two supervisors on one host) never share a job uid. */
Test(sandbox, workers_with_one_slot_get_different_host_uids)
{
    struct sandbox *other = NULL;
    int ret = sandbox_new(config, (int)(getpid() % 1000), &other);

    cr_assert_eq(ret, 0, "sandbox_new: %s", strerror(-ret));
    cr_assert_neq(sandbox_host_uid(other), sandbox_host_uid(sandbox));
    cr_assert_geq(sandbox_host_uid(other), config->sandbox.uid_base);
    cr_assert_lt(sandbox_host_uid(other), config->sandbox.uid_base + config->sandbox.uid_count);
    sandbox_free(other);
}

Test(sandbox, runs_python_hello)
{
    struct job_spec spec = {.language = "python", .source = "print('hello from python')"};
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "hello from python\n");
    cr_assert_eq(result.run.exit_code, 0);
    cr_assert_gt(result.run.memory_peak_kb, 0);
    result_clear(&result);
}

Test(sandbox, runs_node_hello)
{
    struct job_spec spec = {.language = "node", .source = "console.log('hello from node')"};
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "hello from node\n");
    result_clear(&result);
}

Test(sandbox, compiles_and_runs_c)
{
    struct job_spec spec = {
        .language = "c",
        .source = "#include <stdio.h>\nint main(void) { puts(\"hello from c\"); return 0; }\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert(result.has_compile);
    cr_assert_eq(result.compile.status, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "hello from c\n");
    result_clear(&result);
}

Test(sandbox, reports_compile_error_with_compiler_message)
{
    struct job_spec spec = {.language = "c", .source = "int main(void) { return nope; }\n"};
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_COMPILE_ERROR);
    cr_assert_eq(result.compile.status, JOB_STATUS_COMPILE_ERROR);
    cr_assert_not_null(memmem(result.compile.stderr_data, result.compile.stderr_size, "error:",
                              6));
    cr_assert_eq(result.run.stdout_size, 0, "the program must not have run");
    result_clear(&result);
}

Test(sandbox, passes_stdin_and_nested_files)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import sys\nfrom pkg import util\nprint(util.double(sys.stdin.read().strip()))",
        .stdin_text = "21\n",
        .extra_file_path = "pkg/util.py",
        .extra_file_text = "def double(x):\n    return int(x) * 2\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "42\n");
    result_clear(&result);
}

Test(sandbox, job_is_unprivileged_under_seccomp_below_init)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import os\n"
                  "st = open('/proc/self/status').read().splitlines()\n"
                  "f = dict(l.split(':\\t', 1) for l in st if ':\\t' in l)\n"
                  "print(os.getpid(), os.getuid(), os.getgid(), os.getgroups(),\n"
                  "      f['CapEff'].strip(), f['CapBnd'].strip(), f['NoNewPrivs'].strip(),\n"
                  "      f['Seccomp'].strip())\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result),
                     "2 1000 1000 [] 0000000000000000 0000000000000000 1 2\n");
    result_clear(&result);
}

/* The worker's Redis socket, its seccomp listener, the pipes and sync sockets of other
 * children: none may reach the job. Listed from /proc/self/fd, as an attacker would. */
Test(sandbox, job_gets_only_standard_descriptors)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import os\nfds = sorted(int(n) for n in os.listdir('/proc/self/fd'))\n"
                  "for fd in fds:\n"
                  "    try:\n        target = os.readlink(f'/proc/self/fd/{fd}')\n"
                  "    except OSError as e:\n        target = 'gone'\n"
                  "    print(fd, target.split(':')[0])\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    /* stdin is a memfd, stdout and stderr pipes; 3 is the listing's own, gone once read. */
    cr_assert_str_eq(stdout_text(&result), "0 /memfd\n1 pipe\n2 pipe\n3 gone\n");
    result_clear(&result);
}

Test(sandbox, host_files_and_names_are_out_of_reach)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import os, socket\n"
                  "for p in ['/etc/shadow', '/root', '/home', '/var', '/run/ccx', '/sys']:\n"
                  "    print(p, os.path.exists(p))\n"
                  "print(socket.gethostname())\n"
                  "print(sorted(os.listdir('/')))\n"
                  "print(len([p for p in os.listdir('/proc') if p.isdigit()]))\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result),
                     "/etc/shadow False\n/root False\n/home False\n/var False\n/run/ccx False\n"
                     "/sys False\nccx\n"
                     "['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr', "
                     "'work']\n2\n");
    result_clear(&result);
}

Test(sandbox, proc_hides_what_describes_or_changes_the_host)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import errno, os\n"
                  "for p in ['/proc/kallsyms', '/proc/cmdline', '/proc/timer_list', "
                  "'/proc/keys']:\n"
                  "    if os.path.exists(p):\n"
                  "        print(p, len(open(p, 'rb').read()))\n"
                  "try:\n    open('/proc/sys/kernel/hostname', 'w').write('x')\n"
                  "except OSError as e:\n    print('sys', errno.errorcode[e.errno])\n"
                  "print('self', os.path.exists('/proc/self/status'))\n",
    };
    struct result result;
    char *text;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    text = stdout_text(&result);
    /* Whatever of these this kernel has reads as empty; the rest of procfs still works. */
    cr_assert_not_null(strstr(text, "/proc/kallsyms 0\n"), "%s", text);
    cr_assert_not_null(strstr(text, "/proc/cmdline 0\n"), "%s", text);
    cr_assert(!strstr(text, "/proc/timer_list ") || strstr(text, "/proc/timer_list 0\n"),
              "%s", text);
    cr_assert_not_null(strstr(text, "sys EROFS\n"), "%s", text);
    cr_assert_not_null(strstr(text, "self True\n"), "%s", text);
    result_clear(&result);
}

Test(sandbox, root_and_usr_are_read_only_and_work_is_writable)
{
    struct job_spec spec = {
        .language = "sh",
        .source = "touch /usr/x 2>/dev/null && echo usr-writable\n"
                  "touch /x 2>/dev/null && echo root-writable\n"
                  "echo data > /work/out && cat /work/out\n"
                  "echo tmp > /tmp/t && cat /tmp/t\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "data\ntmp\n");
    result_clear(&result);
}

Test(sandbox, refuses_network_and_namespace_syscalls)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import ctypes, errno, os, socket\n"
                  "try:\n    socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                  "    print('inet allowed')\n"
                  "except OSError as e:\n    print('inet', errno.errorcode[e.errno])\n"
                  "a, b = socket.socketpair()\nprint('unix', a.family == socket.AF_UNIX)\n"
                  "libc = ctypes.CDLL(None, use_errno=True)\n"
                  "for name, flag in [('user', 0x10000000), ('mount', 0x20000), "
                  "('net', 0x40000000)]:\n"
                  "    r = libc.unshare(flag)\n"
                  "    print(name, r, errno.errorcode[ctypes.get_errno()])\n"
                  "print('clone3', libc.syscall(435, 0, 0), errno.errorcode[ctypes.get_errno()])\n"
                  "print('memfd_secret', libc.syscall(447, 0), "
                  "errno.errorcode[ctypes.get_errno()])\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "inet EPERM\nunix True\nuser -1 EPERM\n"
                                           "mount -1 EPERM\nnet -1 EPERM\nclone3 -1 ENOSYS\n"
                                           "memfd_secret -1 EPERM\n");
    assert_event(&result, "syscall_refused", "syscall=socket family=AF_INET type=SOCK_STREAM");
    assert_event(&result, "syscall_refused", "syscall=unshare flags=CLONE_NEWUSER ");
    assert_event(&result, "syscall_refused", "syscall=unshare flags=CLONE_NEWNS ");
    assert_event(&result, "syscall_refused", "syscall=unshare flags=CLONE_NEWNET ");
    assert_event(&result, "syscall_refused", "syscall=memfd_secret");
    /* clone3 is answered ENOSYS in the filter, for libc's fallback: not an event. */
    cr_assert_eq(count_events(&result, "syscall_refused"), 5);
    result_clear(&result);
}

Test(sandbox, kills_job_on_kernel_module_load)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import ctypes\nlibc = ctypes.CDLL(None)\n"
                  "libc.syscall(175, 0, 0, 0)\nprint('survived')\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_POLICY_VIOLATION);
    assert_event(&result, "policy_violation", "syscall=init_module");
    cr_assert_eq(result.run.stdout_size, 0);
    result_clear(&result);
}

Test(sandbox, ptrace_of_init_ends_the_job)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import ctypes\nlibc = ctypes.CDLL(None)\nprint('before', flush=True)\n"
                  "libc.ptrace(16, 1, 0, 0)\nprint('survived')\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_POLICY_VIOLATION);
    assert_event(&result, "policy_violation", "syscall=ptrace request=16 pid=1");
    cr_assert_str_eq(stdout_text(&result), "before\n");
    result_clear(&result);
}

/* Syscall numbers of another ABI would slip past rules written for the native table. */
Test(sandbox, foreign_abis_end_the_job)
{
    static const char *const sources[] = {
        "#include <stdio.h>\nint main(void)\n{\n    long r;\n    puts(\"before\");\n"
        "    fflush(stdout);\n    __asm__ volatile(\"int $0x80\" : \"=a\"(r) : \"a\"(20L) : "
        "\"memory\");\n    printf(\"survived %ld\\n\", r);\n    return 0;\n}\n",
        "#include <stdio.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n"
        "int main(void)\n{\n    puts(\"before\");\n    fflush(stdout);\n"
        "    printf(\"survived %ld\\n\", syscall(39 | 0x40000000L));\n    return 0;\n}\n",
    };
    static const char *const details[] = {"syscall=getpid abi=i386", "syscall=getpid abi=x32"};

    for (int i = 0; i < 2; i++) {
        struct job_spec spec = {.language = "c", .source = sources[i]};
        struct result result;

        run_spec(&spec, &result);
        assert_status(&result, JOB_STATUS_POLICY_VIOLATION);
        assert_event(&result, "policy_violation", details[i]);
        cr_assert_str_eq(stdout_text(&result), "before\n");
        result_clear(&result);
    }
}

/* The kernel reads an ioctl request as 32 bits: upper bits set must not hide TIOCSTI. */
Test(sandbox, refuses_terminal_injection_whatever_the_upper_bits)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                  "for request in (0x5412, 0x100005412, 0x541C, 0xffffffff0000541c):\n"
                  "    r = libc.syscall(16, 0, ctypes.c_ulong(request), b'x')\n"
                  "    print(r, errno.errorcode[ctypes.get_errno()])\n"
                  "r = libc.syscall(16, 1, ctypes.c_ulong(0x5401), None)\n"
                  "print('tcgets', r, errno.errorcode[ctypes.get_errno()])\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "-1 EPERM\n-1 EPERM\n-1 EPERM\n-1 EPERM\n"
                                           "tcgets -1 ENOTTY\n");
    assert_event(&result, "syscall_refused", "syscall=ioctl fd=0 request=TIOCSTI "
                                             "raw_request=0x100005412");
    assert_event(&result, "syscall_refused", "syscall=ioctl fd=0 request=TIOCLINUX "
                                             "raw_request=0xffffffff0000541c");
    cr_assert_eq(count_events(&result, "syscall_refused"), 4);
    result_clear(&result);
}

/* A program that hammers a refused call gets its answers, and the result stays small:
 * identical calls fold into one event, distinct ones stop at the cap. */
Test(sandbox, refused_call_events_are_capped_per_job)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                  "same = sum(libc.syscall(105, 0, 0, 0) == -1 for _ in range(500))\n"
                  "distinct = sum(libc.syscall(105, uid, 0, 0) == -1 for uid in range(1, 31))\n"
                  "print(same, distinct)\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "500 30\n");
    cr_assert_eq(count_events(&result, "syscall_refused"), 16);
    assert_event(&result, "syscall_refused", "syscall=setuid args=0x0,0x0,0x0 errno=EPERM "
                                             "calls=500");
    assert_event(&result, "syscall_refused", "syscall=setuid args=0x1,");
    assert_event(&result, "syscall_refused_suppressed", "count=15 reported=16");
    result_clear(&result);
}

Test(sandbox, stops_endless_loop_at_wall_limit)
{
    struct job_spec spec = {
        .language = "python",
        .source = "while True:\n    pass\n",
        .limit_names = {"wall_ms"},
        .limit_values = {700},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_TIMEOUT);
    cr_assert(has_event(&result, "timeout"));
    cr_assert_geq(result.run.wall_ms, 700);
    cr_assert_eq(result.run.signal, 9);
    result_clear(&result);
}

Test(sandbox, stops_cpu_burner_at_cpu_limit)
{
    struct job_spec spec = {
        .language = "python",
        .source = "while True:\n    pass\n",
        .limit_names = {"cpu_ms", "wall_ms"},
        .limit_values = {400, 20000},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_CPU_LIMIT);
    cr_assert(has_event(&result, "cpu_limit"));
    cr_assert_geq(result.run.cpu_ms, 400);
    result_clear(&result);
}

Test(sandbox, kills_allocation_over_memory_limit)
{
    struct job_spec spec = {
        .language = "python",
        .source = "b = bytearray(1 << 30)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\n"
                  "print('allocated')\n",
        .limit_names = {"memory_mb"},
        .limit_values = {128},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_MEMORY_LIMIT);
    cr_assert(has_event(&result, "memory_limit"));
    cr_assert_leq(result.run.memory_peak_kb, 129 * 1024);
    result_clear(&result);
}

Test(sandbox, contains_fork_bomb_at_pids_limit)
{
    struct job_spec spec = {
        .language = "sh",
        .source = "bomb() { bomb | bomb & }; bomb\nsleep 5\n",
        .limit_names = {"pids", "wall_ms"},
        .limit_values = {24, 3000},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_PIDS_LIMIT);
    cr_assert(has_event(&result, "pids_limit"));
    result_clear(&result);
}

Test(sandbox, stops_output_flood_and_keeps_first_bytes)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import sys\nwhile True:\n    sys.stdout.write('0123456789' * 100)\n",
        .limit_names = {"output_bytes"},
        .limit_values = {65536},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OUTPUT_LIMIT);
    cr_assert_eq(result.run.stdout_size, 65536);
    cr_assert_gt(result.run.stdout_dropped, 0);
    cr_assert_eq(memcmp(result.run.stdout_data, "0123456789012", 13), 0);
    cr_assert(has_event(&result, "output_limit"));
    result_clear(&result);
}

Test(sandbox, program_gets_ordinary_signal_semantics)
{
    struct job_spec spec = {
        .language = "c",
        .source = "#include <signal.h>\n#include <stdio.h>\n"
                  "int main(void) { puts(\"raising\"); fflush(stdout); raise(SIGTERM);\n"
                  "  puts(\"survived\"); return 0; }\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_SIGNALED);
    cr_assert_eq(result.run.signal, SIGTERM);
    cr_assert_str_eq(stdout_text(&result), "raising\n");
    result_clear(&result);
}

Test(sandbox, abort_is_reported_as_sigabrt)
{
    struct job_spec spec = {
        .language = "c",
        .source = "#include <stdlib.h>\nint main(void) { abort(); }\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_SIGNALED);
    cr_assert_eq(result.run.signal, SIGABRT);
    result_clear(&result);
}

Test(sandbox, orphans_are_reaped_so_forks_go_on)
{
    /* Each run leaves an orphan that exits at once: without a reaping init they would stay
     * as zombies and use up the pids limit long before the loop ends. */
    struct job_spec spec = {
        .language = "python",
        .source = "import subprocess\n"
                  "for i in range(100):\n"
                  "    subprocess.run(['/bin/sh', '-c', '/bin/true & exit 0'], check=True)\n"
                  "print('done')\n",
        .limit_names = {"pids"},
        .limit_values = {16},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "done\n");
    cr_assert_not(has_event(&result, "pids_limit"));
    result_clear(&result);
}

Test(sandbox, init_cannot_be_read_or_signalled_by_the_job)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import os, signal\n"
                  "for p in ['/proc/1/environ', '/proc/1/mem', '/proc/1/fd/3']:\n"
                  "    try:\n        open(p, 'rb').read(1)\n        print(p, 'readable')\n"
                  "    except OSError as e:\n        print(p, type(e).__name__)\n"
                  "import resource\n"
                  "try:\n    resource.prlimit(1, resource.RLIMIT_NOFILE, (0, 0))\n"
                  "    print('prlimit allowed')\n"
                  "except OSError as e:\n    print('prlimit', type(e).__name__)\n"
                  "os.kill(1, signal.SIGKILL)\nprint('still here')\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "/proc/1/environ PermissionError\n"
                                           "/proc/1/mem PermissionError\n"
                                           "/proc/1/fd/3 PermissionError\n"
                                           "prlimit PermissionError\nstill here\n");
    result_clear(&result);
}

Test(sandbox, tiny_wall_limit_is_a_timeout_not_our_failure)
{
    struct job_spec spec = {
        .language = "python",
        .source = "import time\ntime.sleep(5)\n",
        .limit_names = {"wall_ms"},
        .limit_values = {1},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_TIMEOUT);
    result_clear(&result);
}

Test(sandbox, one_pid_is_enough_for_a_single_process)
{
    struct job_spec spec = {
        .language = "sh",
        .source = "echo alone\n",
        .limit_names = {"pids"},
        .limit_values = {1},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "alone\n");
    result_clear(&result);
}

Test(sandbox, cpu_used_past_the_limit_is_cpu_limit_even_after_a_clean_exit)
{
    struct job_spec spec = {
        .language = "python",
        .source = "pass\n",
        .limit_names = {"cpu_ms"},
        .limit_values = {1},
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_CPU_LIMIT);
    cr_assert(has_event(&result, "cpu_limit"));
    result_clear(&result);
}

Test(sandbox, a_program_raising_sigxcpu_itself_is_only_signaled)
{
    struct job_spec spec = {.language = "sh", .source = "kill -XCPU $$\n"};
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_SIGNALED);
    cr_assert_eq(result.run.signal, SIGXCPU);
    cr_assert_not(has_event(&result, "cpu_limit"));
    result_clear(&result);
}

Test(sandbox, thrashing_at_the_memory_limit_is_named_in_an_event)
{
    struct job_spec spec = {
        .language = "node",
        .source = "console.log(1)\n",
        .limit_names = {"memory_mb", "wall_ms"},
        .limit_values = {6, 1500},
    };
    struct result result;

    run_spec(&spec, &result);
    cr_assert_neq(result.status, JOB_STATUS_OK, "node should not fit in 6 MB");
    cr_assert(has_event(&result, "memory_limit") || has_event(&result, "memory_pressure"),
              "status %s with no memory event", job_status_name(result.status));
    result_clear(&result);
}

/* Kills every process in this test process's sandbox cgroups: the children waiting for
 * their job. Returns how many it killed. */
static int kill_waiting_children(void)
{
    char pattern[128];
    glob_t found;
    int killed = 0;

    snprintf(pattern, sizeof(pattern), "/sys/fs/cgroup/pids/%s/t-*/w%d-*/cgroup.procs",
             config->sandbox.cgroup_parent, (int)getpid());
    if (glob(pattern, 0, NULL, &found) != 0)
        return 0;
    for (size_t i = 0; i < found.gl_pathc; i++) {
        FILE *procs = fopen(found.gl_pathv[i], "re");
        int pid;

        while (procs && fscanf(procs, "%d", &pid) == 1)
            killed += kill(pid, SIGKILL) == 0;
        if (procs)
            fclose(procs);
    }
    globfree(&found);
    return killed;
}

Test(sandbox, replaces_a_waiting_child_that_died)
{
    struct job_spec spec = {.language = "sh", .source = "echo fine\n"};
    struct result result;
    int killed = 0;

    cr_assert_eq(sandbox_warm_up(sandbox), 0);

    /* The children join their cgroups themselves, a few milliseconds after they start. */
    for (int tries = 0; tries < 200 && killed < 2; tries++) {
        killed += kill_waiting_children();
        usleep(10 * 1000);
    }
    cr_assert_eq(killed, 2, "expected the two waiting children, killed %d", killed);
    usleep(100 * 1000);
    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "fine\n");
    result_clear(&result);
}

/* Counts processes running as the host uid of this test's slot. */
static int processes_of_uid(uid_t uid)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    int count = 0;

    cr_assert_not_null(proc);
    while ((entry = readdir(proc))) {
        char path[300];
        struct stat st;

        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s", entry->d_name);
        if (stat(path, &st) == 0 && st.st_uid == uid)
            count++;
    }
    closedir(proc);
    return count;
}

Test(sandbox, nothing_outlives_its_job)
{
    struct job_spec spec = {
        .language = "sh",
        .source = "(setsid sleep 300 &) ; (sleep 300 &) ; nohup sleep 300 >/dev/null 2>&1 &\n"
                  "echo started\n",
    };
    struct result result;

    run_spec(&spec, &result);
    assert_status(&result, JOB_STATUS_OK);
    cr_assert_str_eq(stdout_text(&result), "started\n");
    cr_assert_lt(result.run.wall_ms, 5000);
    cr_assert_eq(processes_of_uid(config->sandbox.uid_base + (uid_t)(getpid() % 1000)), 0);
    result_clear(&result);
}

/* ==== Tenant policies: the filter and /tmp a step runs with ==== */

/* A policy whose defaults refuse children, read by the real loader. */
static struct policy *load_no_children_policy(void)
{
    return fixture_policy(config, "{\"version\": \"sandbox-1\", "
                                  "\"defaults\": {\"processes\": {\"children\": false}}}");
}

static void run_spec_under(const struct job_spec *spec, const struct filter *filter,
                           uint64_t tmp_mb, struct result *result)
{
    struct job *job = make_job(spec);
    int ret;

    job->tmp_mb = tmp_mb;
    ret = runner_run(sandbox, config, job, filter, NULL, result);
    cr_assert_eq(ret, 0, "runner_run: %d", ret);
    result->meta = NULL;
    job_free(job);
}

static bool has_refusal(const struct result *result, const char *prefix, const char *part)
{
    for (size_t i = 0; i < result->events.count; i++) {
        const struct sandbox_event *event = &result->events.items[i];

        if (strcmp(event->kind, "syscall_refused") == 0 &&
            strncmp(event->detail, prefix, strlen(prefix)) == 0 && strstr(event->detail, part))
            return true;
    }
    return false;
}

Test(sandbox, without_children_init_starts_the_program_and_its_forks_get_eperm)
{
    struct policy *policy = load_no_children_policy();
    struct filter_set *set = NULL;
    struct result result = {0};
    char err[1024] = "";
    const struct filter *filter;
    struct job_spec spec = {
        .language = "python",
        .source = "import os\nprint('start', flush=True)\ntry:\n    pid = os.fork()\n"
                  "    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"
                  "    print('forked')\nexcept PermissionError:\n    print('refused')\n",
    };
    char *out;

    cr_assert_eq(filter_set_new(config, policy, &set, err, sizeof(err)), 0, "%s", err);
    filter = filter_set_find(set, NULL, false);
    cr_assert_not_null(filter);
    cr_assert_not(filter->children);
    sandbox_set_filters(sandbox, set);

    run_spec_under(&spec, filter, 0, &result);
    out = stdout_text(&result);
    cr_assert_eq(result.status, JOB_STATUS_OK, "status %s", job_status_name(result.status));
    cr_assert_str_eq(out, "start\nrefused\n");
    cr_assert(has_refusal(&result, "syscall=clone", "children=refused"));
    cr_assert_not(has_refusal(&result, "syscall=", "errno=EPERM calls="),
                  "init's own start of the program must not be counted as a refusal");
    free(out);
    result_clear(&result);

    /* The same set, the children filter: the fork goes through. */
    run_spec_under(&spec, filter_set_find(set, NULL, true), 0, &result);
    out = stdout_text(&result);
    cr_assert_str_eq(out, "start\nforked\n");
    free(out);
    result_clear(&result);

    sandbox_set_filters(sandbox, NULL);
    filter_set_free(set);
    policy_free(policy);
}

Test(sandbox, tmp_and_shm_take_the_steps_size)
{
    struct job_spec spec = {
        .language = "sh",
        .source = "df -k /tmp /dev/shm | awk 'NR > 1 { print $2 }'\n",
    };
    struct result result = {0};
    char *out;

    run_spec_under(&spec, NULL, 3, &result);
    out = stdout_text(&result);
    cr_assert_eq(result.status, JOB_STATUS_OK, "status %s: %s", job_status_name(result.status),
                 result.reason ? result.reason : "");
    cr_assert_str_eq(out, "3072\n3072\n");
    free(out);
    result_clear(&result);
}

Test(sandbox, a_filter_it_was_not_given_is_refused)
{
    struct policy *policy = load_no_children_policy();
    struct filter_set *set = NULL;
    struct result result = {0};
    char err[1024] = "";
    struct job_spec spec = {.language = "sh", .source = "echo hi\n"};

    cr_assert_eq(filter_set_new(config, policy, &set, err, sizeof(err)), 0, "%s", err);
    /* Never given to the sandbox: a child cloned earlier could not know it. */
    run_spec_under(&spec, filter_set_find(set, NULL, false), 0, &result);
    cr_assert_eq(result.status, JOB_STATUS_INTERNAL_ERROR, "status %s",
                 job_status_name(result.status));
    result_clear(&result);
    filter_set_free(set);
    policy_free(policy);
}

/* The how of one enforced entry, or NULL. */
static const char *enforced(const struct result *result, const char *what)
{
    for (size_t i = 0; i < result->enforced.count; i++) {
        if (strcmp(result->enforced.items[i].what, what) == 0)
            return result->enforced.items[i].how;
    }
    return NULL;
}

Test(sandbox, result_names_the_tenant_cgroup_and_its_limits)
{
    struct policy_cgroup policy = {.memory_mb = 768, .pids = 90, .cpu_weight = 300};
    struct job_spec spec = {.tenant = "Acme..x_Y-1", .language = "sh", .source = "echo hi\n"};
    char dir[CG_TENANT_DIR_SIZE];
    struct result result;
    const char *how;

    run_spec_as_tenant(&spec, &policy, &result);
    assert_status(&result, JOB_STATUS_OK);
    how = enforced(&result, "tenant_cgroup");
    cr_assert_not_null(how, "no tenant_cgroup in enforced");
    cg_tenant_dir_name("Acme..x_Y-1", dir);
    cr_assert(strstr(how, dir), "%s does not name %s", how, dir);
    cr_assert(strstr(how, "memory_mb=768 "), "%s", how);
    cr_assert(strstr(how, "pids=90 "), "%s", how);
    cr_assert(strstr(how, "cpu.shares=3072") || strstr(how, "cpu.weight=300"), "%s", how);
    result_clear(&result);
}

/* Children waiting for the next step were cloned for the last step's tenant; a step of
 * another tenant must not run in them. */
Test(sandbox, a_step_of_another_tenant_runs_under_its_own_parent)
{
    struct policy_cgroup first = {.memory_mb = 400, .pids = 0, .cpu_weight = 100};
    struct policy_cgroup second = {.memory_mb = 600, .pids = 0, .cpu_weight = 100};
    struct job_spec spec = {.tenant = "tcg-first", .language = "sh", .source = "echo one\n"};
    char dir[CG_TENANT_DIR_SIZE];
    struct result result;
    const char *how;

    run_spec_as_tenant(&spec, &first, &result);
    assert_status(&result, JOB_STATUS_OK);
    result_clear(&result);
    cr_assert_eq(sandbox_warm_up(sandbox), 0);

    spec.tenant = "tcg-second";
    run_spec_as_tenant(&spec, &second, &result);
    assert_status(&result, JOB_STATUS_OK);
    how = enforced(&result, "tenant_cgroup");
    cr_assert_not_null(how);
    cg_tenant_dir_name("tcg-second", dir);
    cr_assert(strstr(how, dir), "%s does not name %s", how, dir);
    cr_assert(strstr(how, "memory_mb=600 "), "%s", how);
    result_clear(&result);
}

/* What a job run in a child process reports back to the test. */
struct tenant_job_report {
    int ret;                 /* sandbox_new or runner_run failed: -errno */
    int status;
    bool memory_event;
    uint64_t memory_peak_kb;
    char stdout_text[64];
};

/* Runs spec in a sandbox of its own (as another worker of the host would) in a child
 * process, which writes a tenant_job_report to fd and exits. Returns the child's pid. */
static pid_t start_tenant_job(const struct job_spec *spec, const struct policy_cgroup *policy,
                              int slot, int fd)
{
    struct tenant_job_report report = {0};
    struct sandbox *own = NULL;
    struct result result;
    struct job *job;
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid > 0)
        return pid;

    report.ret = sandbox_new(config, slot, &own);
    if (report.ret == 0) {
        job = make_job(spec);
        report.ret = runner_run(own, config, job, NULL, policy, &result);
        result.meta = NULL;
        job_free(job);
    }
    if (report.ret == 0) {
        report.status = result.status;
        report.memory_event = has_event(&result, "memory_limit");
        report.memory_peak_kb = result.run.memory_peak_kb;
        snprintf(report.stdout_text, sizeof(report.stdout_text), "%.*s",
                 (int)result.run.stdout_size, (const char *)result.run.stdout_data);
        result_clear(&result);
    }
    sandbox_free(own);
    if (write(fd, &report, sizeof(report)) != sizeof(report))
        _exit(1);
    _exit(0);
}

static void wait_tenant_job(pid_t pid, int fd, struct tenant_job_report *report)
{
    int status = 0;

    cr_assert_eq(read(fd, report, sizeof(*report)), (ssize_t)sizeof(*report));
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(report->ret, 0, "the job could not run: %s", strerror(-report->ret));
}

/* Two jobs of one tenant, each well within its own memory limit but together over the
 * tenant's, run at the same time beside a job of another tenant: the tenant's parent stops
 * one of its own jobs, and the other tenant's job, as big, runs to its end. */
Test(sandbox, a_tenant_cannot_take_more_memory_than_its_parent_allows, .timeout = 180)
{
    struct policy_cgroup tenant_policy = {.memory_mb = 200, .pids = 0, .cpu_weight = 100};
    struct job_spec spec = {
        .language = "python",
        .source = "import time\n"
                  "b = bytearray(120 << 20)\n"
                  "for i in range(0, len(b), 4096):\n"
                  "    b[i] = 1\n"
                  "print('holding', flush=True)\n"
                  "time.sleep(5)\n"
                  "print('done')\n",
        .limit_names = {"memory_mb", "wall_ms"},
        .limit_values = {160, 60000},
    };
    struct tenant_job_report reports[3];
    const char *tenants[3] = {"tcg-greedy", "tcg-greedy", "tcg-neighbour"};
    int pipes[3][2];
    pid_t pids[3];
    int stopped = 0;

    for (int i = 0; i < 3; i++) {
        cr_assert_eq(pipe(pipes[i]), 0);
        spec.tenant = tenants[i];
        pids[i] = start_tenant_job(&spec, &tenant_policy, (int)(getpid() % 1000) + 1 + i,
                                   pipes[i][1]);
        close(pipes[i][1]);
    }
    for (int i = 0; i < 3; i++) {
        wait_tenant_job(pids[i], pipes[i][0], &reports[i]);
        close(pipes[i][0]);
        cr_log_info("%s: %s memory_event=%d peak_kb=%llu", tenants[i],
                    job_status_name(reports[i].status), reports[i].memory_event,
                    (unsigned long long)reports[i].memory_peak_kb);
    }

    for (int i = 0; i < 2; i++) {
        if (reports[i].status == JOB_STATUS_MEMORY_LIMIT) {
            stopped++;
            cr_assert(reports[i].memory_event);
            /* Stopped under its own limit: the tenant's was reached. */
            cr_assert_lt(reports[i].memory_peak_kb, 160 * 1024);
        } else {
            cr_assert_eq(reports[i].status, JOB_STATUS_OK, "status %s",
                         job_status_name(reports[i].status));
        }
    }
    cr_assert_geq(stopped, 1, "both jobs of the tenant ran past its 200 MB together");
    cr_assert_eq(reports[2].status, JOB_STATUS_OK, "the other tenant's job ended %s",
                 job_status_name(reports[2].status));
    cr_assert_str_eq(reports[2].stdout_text, "holding\ndone\n");
}

/* A job that takes every pid it can holds all of its tenant's: a job of the same tenant that
 * needs 21 processes then cannot have them, while the same job of another tenant, at the
 * same time, gets them. */
Test(sandbox, a_pid_hog_takes_only_its_own_tenant_pids, .timeout = 180)
{
    struct policy_cgroup policy = {.memory_mb = 0, .pids = 30, .cpu_weight = 100};
    struct job_spec hog = {
        .tenant = "tcg-hog",
        .language = "python",
        .source = "import os, time\n"
                  "kids = 0\n"
                  "for i in range(60):\n"
                  "    try:\n"
                  "        pid = os.fork()\n"
                  "    except OSError:\n"
                  "        break\n"
                  "    if pid == 0:\n"
                  "        time.sleep(10)\n"
                  "        os._exit(0)\n"
                  "    kids += 1\n"
                  "print(kids, flush=True)\n"
                  "time.sleep(10)\n",
        .limit_names = {"wall_ms", "pids"},
        .limit_values = {30000, 64},
    };
    struct job_spec forks = {
        .language = "sh",
        .source = "sleep 0.5\nfor i in $(seq 1 20); do sleep 2 & done\nwait\necho done\n",
        .limit_names = {"wall_ms", "pids"},
        .limit_values = {30000, 64},
    };
    const struct job_spec *specs[3] = {&hog, &forks, &forks};
    const char *tenants[3] = {"tcg-hog", "tcg-hog", "tcg-calm"};
    struct tenant_job_report reports[3];
    int pipes[3][2];
    pid_t pids[3];

    for (int i = 0; i < 3; i++) {
        struct job_spec spec = *specs[i];

        cr_assert_eq(pipe(pipes[i]), 0);
        spec.tenant = tenants[i];
        pids[i] = start_tenant_job(&spec, &policy, (int)(getpid() % 1000) + 1 + i, pipes[i][1]);
        close(pipes[i][1]);
        /* The hog's 10 s hold starts within about a second, even on a busy host. */
        if (i == 0)
            sleep(2);
    }
    for (int i = 0; i < 3; i++) {
        wait_tenant_job(pids[i], pipes[i][0], &reports[i]);
        close(pipes[i][0]);
        cr_log_info("%s: %s stdout=%s", tenants[i], job_status_name(reports[i].status),
                    reports[i].stdout_text);
    }

    cr_assert_eq(reports[0].status, JOB_STATUS_OK, "the hog ended %s",
                 job_status_name(reports[0].status));
    cr_assert_lt(atoi(reports[0].stdout_text), 30, "the hog had %s children",
                 reports[0].stdout_text);
    /* Not our failure (internal_error, retried): the job's pids ran out. */
    cr_assert_eq(reports[1].status, JOB_STATUS_PIDS_LIMIT, "the hog's neighbour ended %s",
                 job_status_name(reports[1].status));
    cr_assert_eq(reports[2].status, JOB_STATUS_OK, "the other tenant's job ended %s",
                 job_status_name(reports[2].status));
    cr_assert_str_eq(reports[2].stdout_text, "done\n");
}
