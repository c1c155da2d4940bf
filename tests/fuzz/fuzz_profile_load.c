/* libFuzzer target: any bytes as a seccomp profile. The loader must answer every input with a
 * profile whose every number is a syscall of this machine, or an error that names the file;
 * never crash, leak or hang. A profile it accepts must also build into a filter. Built by
 * scripts/fuzz (clang, -DCCX_FUZZ=ON). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "worker/filter.h"
#include "worker/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct profile *profile = NULL;
    struct filter *filter = NULL;
    char err[1024] = "";
    int ret = profile_parse((const char *)data, size, "fuzz.json", &profile, err, sizeof(err));

    if (ret < 0) {
        if (ret != -ENOMEM && strncmp(err, "fuzz.json: ", 11) != 0)
            abort(); /* every error must name the file it is about */
        return 0;
    }

    for (size_t i = 0; i < profile->allow_count; i++) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, profile->allow[i]);

        if (!name)
            abort();
        free(name);
    }
    if (filter_new(profile, "fuzz", true, &filter) < 0)
        abort();
    filter_free(filter);
    profile_free(profile);
    return 0;
}
