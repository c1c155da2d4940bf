#include "utf8.h"

#include <stdint.h>

size_t utf8_sequence(const unsigned char *p, size_t avail)
{
    unsigned char b = p[0];
    size_t len;
    uint32_t cp;

    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
        cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }

    if (len > avail)
        return 0;

    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool utf8_valid(const char *ptr, size_t size)
{
    const unsigned char *in = (const unsigned char *)ptr;

    for (size_t i = 0; i < size;) {
        size_t len = utf8_sequence(in + i, size - i);

        if (len == 0)
            return false;
        i += len;
    }
    return true;
}
