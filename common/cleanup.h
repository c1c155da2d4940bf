/* Scope-bound cleanup helpers (GCC/Clang __attribute__((cleanup)), accepted in C11 mode).
 * Each helper accepts an empty value (NULL, -1) as a no-op, so a variable may be declared
 * with its helper before anything is assigned to it. TAKE_PTR/TAKE_FD hand ownership on. */
#ifndef CCX_COMMON_CLEANUP_H
#define CCX_COMMON_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void cleanup_closep(const int *fd)
{
    if (*fd >= 0) {
        int saved_errno = errno;

        close(*fd);
        errno = saved_errno;
    }
}

static inline void cleanup_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

/* Moves a pointer out of a cleanup-owned variable: the variable becomes NULL. */
#define TAKE_PTR(ptr)                                                                             \
    ({                                                                                            \
        __typeof__(ptr) taken_ptr_ = (ptr);                                                       \
        (ptr) = NULL;                                                                             \
        taken_ptr_;                                                                               \
    })

/* Moves a descriptor out of a cleanup-owned variable: the variable becomes -1. */
#define TAKE_FD(fd)                                                                               \
    ({                                                                                            \
        int taken_fd_ = (fd);                                                                     \
        (fd) = -1;                                                                                \
        taken_fd_;                                                                                \
    })

#endif
