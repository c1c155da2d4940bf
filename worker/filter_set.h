/* The seccomp filters a worker's jobs run under: one for each distinct pair of profile and
 * children setting that its config and tenant policy name, built when the policy is loaded
 * (at start and on each reload), so that no job waits for libseccomp and no profile is read
 * twice. */
#ifndef CCX_WORKER_FILTER_SET_H
#define CCX_WORKER_FILTER_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/policy.h"
#include "worker/filter.h"

struct filter_set;

/* Builds the filters for the config's profile and for every tenant of policy (its defaults
 * included). Returns 0 and *ret_set (free with filter_set_free), or -errno with a message in
 * err naming the policy's field (tenants.acme.code.seccomp_profile) and the profile's own
 * error. Does not log but what filter_new logs. */
int filter_set_new(const struct ccx_config *config, const struct policy *policy,
                   struct filter_set **ret_set, char *err, size_t err_size);
void filter_set_free(struct filter_set *set);

/* Reads the policy the config names (the built-in one when it names none) and builds its
 * set: what the worker runs jobs with, and what the supervisor checks before it tells the
 * workers to load a policy. Returns 0 with *ret_policy (free with policy_free) and *ret_set,
 * or -errno with a message in err (empty when there is none) that names the file, the field
 * and the reason; neither is returned then. Does not log but what filter_new logs. */
int filter_set_load(const struct ccx_config *config, struct policy **ret_policy,
                    struct filter_set **ret_set, char *err, size_t err_size);

/* The filter for profile (a path; NULL: the config's) with children, or NULL when the set
 * was not built for that pair. */
const struct filter *filter_set_find(const struct filter_set *set, const char *profile,
                                     bool children);

/* The filters by position, 0 to filter_set_count() - 1: what a sandbox child picks its
 * filter by. filter_set_get allocates nothing (it runs between clone and exec) and returns
 * NULL for a position out of range. */
size_t filter_set_count(const struct filter_set *set);
const struct filter *filter_set_get(const struct filter_set *set, size_t index);

#endif
