/* Numbers given on command lines, read strictly. */
#ifndef CCX_COMMON_PARSE_H
#define CCX_COMMON_PARSE_H

#include <stdint.h>

/* Accepts only plain decimal digits that fit in 64 bits: strtoull alone would take "-1"
 * (as a huge number), " 5" and "5x". Returns 0 and *ret_value, or -EINVAL. */
int parse_u64(const char *text, uint64_t *ret_value);

#endif
