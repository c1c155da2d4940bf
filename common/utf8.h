/* UTF-8 checks for the wire format: msgpack's str is UTF-8 by definition, and clients that
 * decode strictly cannot read a result that breaks it. */
#ifndef CCX_COMMON_UTF8_H
#define CCX_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 when the byte at p does not start
 * one within avail bytes (avail >= 1). Overlong forms, surrogates and code points above
 * U+10FFFF are invalid. */
size_t utf8_sequence(const unsigned char *p, size_t avail);

/* Whether the size bytes at ptr are well-formed UTF-8 throughout. */
bool utf8_valid(const char *ptr, size_t size);

#endif
