/* common/policy_error.c: the loader's messages split into field and reason, for the
 * file=, field= and reason= keys of policy_reload_failed and policy_load_failed. */
#include <criterion/criterion.h>

#include "common/policy_error.h"

static void assert_split(const char *err, const char *field, const char *reason)
{
    char got[128];
    const char *got_reason = NULL;

    policy_error_split("/etc/ccx/policy.json", err, got, sizeof(got), &got_reason);
    cr_assert_str_eq(got, field, "field of \"%s\"", err);
    cr_assert_str_eq(got_reason, reason, "reason of \"%s\"", err);
}

Test(policy_error, splits_field_and_reason)
{
    assert_split("/etc/ccx/policy.json: tenants.acme.quotas.burst: must be at least 0 (it is -1)",
                 "tenants.acme.quotas.burst", "must be at least 0 (it is -1)");
    assert_split("/etc/ccx/policy.json: version: is missing", "version", "is missing");
}

Test(policy_error, a_message_about_the_whole_file_has_no_field)
{
    assert_split("/etc/ccx/policy.json: cannot open: No such file or directory", "",
                 "cannot open: No such file or directory");
    assert_split("/etc/ccx/policy.json:3:7: invalid JSON: end of file expected", "",
                 "invalid JSON: end of file expected");
}

Test(policy_error, a_profile_error_keeps_its_own_colons_in_the_reason)
{
    assert_split("/etc/ccx/policy.json: tenants.a.code.seccomp_profile: /p.json: allow[1]: "
                 "unknown syscall \"wirte\"",
                 "tenants.a.code.seccomp_profile", "/p.json: allow[1]: unknown syscall \"wirte\"");
}

Test(policy_error, a_field_too_long_for_the_buffer_is_left_in_the_reason)
{
    char got[8];
    const char *reason = NULL;

    policy_error_split("f", "f: tenants.acme.quotas.burst: bad", got, sizeof(got), &reason);
    cr_assert_str_eq(got, "");
    cr_assert_str_eq(reason, "tenants.acme.quotas.burst: bad");
}
