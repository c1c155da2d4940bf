/* ccx-init: pid 1 of every job's pid namespace.
 *
 * The sandbox execs this in place of the job's program, which it then starts as pid 2. A
 * program that is pid 1 itself gets the kernel's init semantics: signals it sends itself are
 * ignored (raise(SIGTERM) does nothing, abort() ends in SIGSEGV) and no one reaps its
 * orphans, which pile up as zombies until the pids limit refuses every fork. Here the
 * program runs as an ordinary process; this init reaps whatever is orphaned, and reports on
 * descriptor 3 how the program ended. When the program ends, init exits, and the kernel
 * kills everything left in the namespace.
 *
 * Usage (by the sandbox only): ccx-init PROGRAM [ARG]...  with descriptor 3 open for the
 * report. The environment is passed on unchanged. Runs with the job's uid, its seccomp
 * filter and no capabilities; marks itself non-dumpable so that the job cannot read its
 * memory or descriptors through /proc/1. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/init_report.h"

static void report(int kind, int value)
{
    struct init_report message = {.kind = kind, .value = value};

    /* Nothing to be done if it fails: the worker falls back on init's own exit status. */
    if (write(INIT_REPORT_FD, &message, sizeof(message)) != sizeof(message))
        return;
}

/* A heap copy of a NULL-terminated string array, or NULL when memory runs out. */
static char **init_copy_strings(char **strings)
{
    size_t count = 0;
    char **copy;

    while (strings && strings[count])
        count++;

    copy = calloc(count + 1, sizeof(*copy));
    if (!copy)
        return NULL;

    for (size_t i = 0; i < count; i++) {
        copy[i] = strdup(strings[i]);
        if (!copy[i])
            return NULL; /* init exits at once: nothing to free */
    }
    return copy;
}

static void init_blank_strings(char **strings)
{
    for (; strings && *strings; strings++)
        memset(*strings, 0, strlen(*strings));
}

int main(int argc, char **argv)
{
    extern char **environ;
    char **program_argv;
    char **program_envp;
    int status = 0;
    pid_t program;

    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (argc < 2 || fcntl(INIT_REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) {
        report(INIT_EXEC_FAILED, EINVAL);
        return 127;
    }

    /* /proc/1/cmdline stays readable to the job whatever our dumpable flag says: blank our
     * argv and environment before the program exists, so that init never shows how it was
     * started (only the length of what was there: the kernel keeps that). */
    program_argv = init_copy_strings(argv + 1);
    program_envp = init_copy_strings(environ);
    if (!program_argv || !program_envp) {
        report(INIT_EXEC_FAILED, ENOMEM);
        return 127;
    }
    init_blank_strings(argv);
    init_blank_strings(environ);

    program = fork();
    if (program < 0) {
        report(INIT_EXEC_FAILED, errno);
        return 127;
    }
    if (program == 0) {
        execve(program_argv[0], program_argv, program_envp);
        report(INIT_EXEC_FAILED, errno);
        _exit(127);
    }

    /* Reap everything; stop when the program itself is done. */
    for (;;) {
        pid_t pid = waitpid(-1, &status, 0);

        if (pid == program)
            break;
        if (pid < 0 && errno != EINTR) {
            report(INIT_EXEC_FAILED, errno);
            return 127;
        }
    }

    if (WIFSIGNALED(status))
        report(INIT_SIGNALED, WTERMSIG(status));
    else
        report(INIT_EXITED, WEXITSTATUS(status));
    return 0;
}
