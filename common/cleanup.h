/* Scope-bound cleanup helpers (GCC/Clang __attribute__((cleanup)), accepted in C11 mode).
 * Each helper accepts an empty value (NULL, -1) as a no-op, so a variable may be declared
 * with its helper before anything is assigned to it. TAKE_PTR/TAKE_FD hand ownership on. */
#ifndef CCX_COMMON_CLEANUP_H
#define CCX_COMMON_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

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

static inline void cleanup_redis_freep(redisContext **context)
{
    if (*context)
        redisFree(*context);
}

static inline void cleanup_reply_freep(redisReply **reply)
{
    if (*reply)
        freeReplyObject(*reply);
}

/* The buffer must have been initialised (or zeroed: destroying a zeroed one is a no-op). */
static inline void cleanup_sbuffer_destroyp(msgpack_sbuffer *buffer)
{
    msgpack_sbuffer_destroy(buffer);
}

static inline void cleanup_unpacked_destroyp(msgpack_unpacked *unpacked)
{
    msgpack_unpacked_destroy(unpacked);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_redis_ __attribute__((cleanup(cleanup_redis_freep)))
#define _cleanup_reply_ __attribute__((cleanup(cleanup_reply_freep)))
#define _cleanup_sbuffer_ __attribute__((cleanup(cleanup_sbuffer_destroyp)))
#define _cleanup_unpacked_ __attribute__((cleanup(cleanup_unpacked_destroyp)))

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
