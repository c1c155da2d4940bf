/* Host uid leases: two claimants never get the same uid, a released uid is free again, a
 * full range says so, and uids the host's user database names are never handed out. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "worker/uid_lease.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ccx-test-uids.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char command[128];

    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    cr_assert_eq(system(command), 0);
}

TestSuite(uid_lease, .init = setup, .fini = teardown);

Test(uid_lease, two_claims_for_one_slot_get_different_uids)
{
    uid_t first, second;
    int first_fd, second_fd;

    cr_assert_eq(uid_lease_claim(dir, 1900000, 8, 3, &first, &first_fd), 0);
    cr_assert_eq(first, 1900003);
    cr_assert_eq(uid_lease_claim(dir, 1900000, 8, 3, &second, &second_fd), 0);
    cr_assert_eq(second, 1900004);
    close(first_fd);
    close(second_fd);
}

Test(uid_lease, released_uid_is_free_again)
{
    uid_t uid, again;
    int fd;

    cr_assert_eq(uid_lease_claim(dir, 1900000, 4, 1, &uid, &fd), 0);
    close(fd);
    cr_assert_eq(uid_lease_claim(dir, 1900000, 4, 1, &again, &fd), 0);
    cr_assert_eq(again, uid);
    close(fd);
}

Test(uid_lease, full_range_is_an_error_and_wraps_before)
{
    uid_t uids[3];
    int fds[3];

    for (int i = 0; i < 3; i++)
        cr_assert_eq(uid_lease_claim(dir, 1900000, 3, 2, &uids[i], &fds[i]), 0);
    cr_assert_eq(uids[0], 1900002);
    cr_assert_eq(uids[1], 1900000);
    cr_assert_eq(uids[2], 1900001);

    uid_t none;
    int fd;

    cr_assert_eq(uid_lease_claim(dir, 1900000, 3, 0, &none, &fd), -EUSERS);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

Test(uid_lease, named_host_users_are_skipped)
{
    uid_t uid;
    int fd;

    /* Root and daemon (0 and 1) are named on every Debian host: nothing to lease. */
    cr_assert_eq(uid_lease_claim(dir, 0, 2, 0, &uid, &fd), -EUSERS);
}
