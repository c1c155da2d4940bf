// ccx-attack: mount the host disk, bind / elsewhere, unmount /proc's masks, use the new mount API
// ccx-category: filesystem
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=mount
// ccx-event: syscall_refused ^syscall=umount2
// ccx-event: syscall_refused ^syscall=fsopen
// ccx-event: syscall_refused ^syscall=open_tree
// ccx-event: syscall_refused ^syscall=move_mount
// ccx-steps: 7
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void judge(const char *step, long ret)
{
    if (ret < 0)
        printf("BLOCKED: %s: %s\n", step, strerror(errno));
    else
        printf("ESCAPED: %s: returned %ld\n", step, ret);
}

int main(void)
{
    mkdir("/work/mnt", 0755);

    /* The host's disk is /dev/vda on the CI machine: there is no node for it here, but the
     * call itself must not even run. */
    judge("mount ext4 /dev/vda on /work/mnt", mount("/dev/vda", "/work/mnt", "ext4", 0, NULL));
    judge("bind mount / on /work/mnt", mount("/", "/work/mnt", NULL, MS_BIND | MS_REC, NULL));
    judge("remount / read-write", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
    /* /proc/kallsyms is covered by /dev/null; lifting the cover would show kernel addresses. */
    judge("umount2 /proc/kallsyms", umount2("/proc/kallsyms", MNT_DETACH));

    /* The file-descriptor mount API: a fresh proc or a clone of / to attach elsewhere. */
    judge("fsopen proc", syscall(SYS_fsopen, "proc", 0));
    long tree = syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
    judge("open_tree clone of /", tree);
    judge("move_mount onto /work/mnt",
          syscall(SYS_move_mount, tree < 0 ? AT_FDCWD : (int)tree, tree < 0 ? "/" : "",
                  AT_FDCWD, "/work/mnt", 4 /* MOVE_MOUNT_F_EMPTY_PATH */));
    return 0;
}
