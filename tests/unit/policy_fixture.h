/* A tenant policy for unit suites, read by the real loader from a file of its own. Included
 * by one test file each, so its function is static. */
#ifndef CCX_TESTS_POLICY_FIXTURE_H
#define CCX_TESTS_POLICY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/config.h"
#include "common/policy.h"

/* text (a policy file's JSON) loaded against config; the file is gone again on return. */
static struct policy *fixture_policy(const struct ccx_config *config, const char *text)
{
    char dir[] = "/tmp/ccx-test-fixture-policy-XXXXXX";
    struct policy *policy = NULL;
    char path[64], err[1024] = "";
    FILE *file;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/policy.json", dir);
    file = fopen(path, "w");
    cr_assert_not_null(file);
    fputs(text, file);
    fclose(file);

    cr_assert_eq(policy_load(path, config, &policy, err, sizeof(err)), 0, "%s", err);
    unlink(path);
    rmdir(dir);
    return policy;
}

#endif
