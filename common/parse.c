#include "common/parse.h"

#include <errno.h>
#include <stdlib.h>

int parse_u64(const char *text, uint64_t *ret_value)
{
    char *end = NULL;
    unsigned long long value;

    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;

    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -EINVAL;

    *ret_value = value;
    return 0;
}
