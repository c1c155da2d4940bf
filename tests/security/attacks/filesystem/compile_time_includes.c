// ccx-attack: have the compiler probe host files with __has_include in the compile sandbox
// ccx-category: filesystem
// ccx-status: ok
// ccx-steps: 6
#include <stdio.h>

/* The preprocessor runs in the compile step, before any of our code: each path names a file
 * that the host has and the sandbox does not, and the answer is frozen into the program.
 * (/proc/1/root is left out: cpp takes its EACCES as fatal, a mere compile error.) */
#if __has_include("/etc/hostname")
#define FOUND_0 1
#else
#define FOUND_0 0
#endif
#if __has_include("/etc/machine-id")
#define FOUND_1 1
#else
#define FOUND_1 0
#endif
#if __has_include("/root/.bashrc")
#define FOUND_2 1
#else
#define FOUND_2 0
#endif
#if __has_include("../../../../../../etc/hostname")
#define FOUND_3 1
#else
#define FOUND_3 0
#endif
#if __has_include("/proc/self/root/../../etc/machine-id")
#define FOUND_4 1
#else
#define FOUND_4 0
#endif
#if __has_include("/proc/self/cwd/../../../etc/hostname")
#define FOUND_5 1
#else
#define FOUND_5 0
#endif

static const struct {
    const char *path;
    int found;
} probes[] = {
    {"/etc/hostname", FOUND_0},
    {"/etc/machine-id", FOUND_1},
    {"/root/.bashrc", FOUND_2},
    {"../../../../../../etc/hostname", FOUND_3},
    {"/proc/self/root/../../etc/machine-id", FOUND_4},
    {"/proc/self/cwd/../../../etc/hostname", FOUND_5},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(probes) / sizeof(*probes); i++) {
        if (probes[i].found)
            printf("ESCAPED: the compiler found %s\n", probes[i].path);
        else
            printf("BLOCKED: __has_include(%s) at compile time: not there\n", probes[i].path);
    }
    return 0;
}
