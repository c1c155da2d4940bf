#include "worker/uid_lease.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries to lease one uid. Returns the lock's fd, -EWOULDBLOCK when someone holds it, or
 * another -errno. */
static int uid_lease_try(int dir_fd, uid_t uid)
{
    char name[32];
    int fd;

    snprintf(name, sizeof(name), "%u.lock", (unsigned)uid);
    fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int ret = -errno;

        close(fd);
        return ret;
    }
    return fd;
}

int uid_lease_claim(const char *dir, uid_t base, unsigned count, unsigned first_offset,
                    uid_t *ret_uid, int *ret_lock_fd)
{
    int dir_fd;

    if (count == 0)
        return -EINVAL;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0)
        return -errno;

    for (unsigned i = 0; i < count; i++) {
        uid_t uid = base + (first_offset + i) % count;
        int fd;

        /* A uid the host knows by name may own files or processes outside any sandbox. */
        if (getpwuid(uid))
            continue;

        fd = uid_lease_try(dir_fd, uid);
        if (fd == -EWOULDBLOCK)
            continue;
        if (fd < 0) {
            close(dir_fd);
            return fd;
        }
        close(dir_fd);
        *ret_uid = uid;
        *ret_lock_fd = fd;
        return 0;
    }
    close(dir_fd);
    return -EUSERS;
}
