/* libFuzzer target: any bytes as the config file. The loader must answer every input with
 * a config or an error message that names the file, and never crash, leak or hang. Built by
 * scripts/fuzz (clang, -DCCX_FUZZ=ON). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    struct ccx_config *config = NULL;
    char err[1024] = "";
    int ret;

    if (fd < 0) {
        fd = memfd_create("ccx-fuzz-config", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();

    ret = config_load(path, &config, err, sizeof(err));
    if (ret == 0)
        config_free(config);
    else if (!strstr(err, path))
        abort(); /* every error must name the file it is about */
    return 0;
}
