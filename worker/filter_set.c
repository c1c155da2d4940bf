#include "worker/filter_set.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/profile.h"

struct filter_set {
    char *default_profile;   /* the config's profile: what a NULL profile means */
    struct filter **filters;
    size_t count;
    size_t capacity;
};

static bool filter_set_has(const struct filter_set *set, const char *profile, bool children)
{
    return filter_set_find(set, profile, children) != NULL;
}

static int filter_set_grow(struct filter_set *set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 4;
    struct filter **grown;

    if (set->count < set->capacity)
        return 0;
    grown = realloc(set->filters, capacity * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    set->filters = grown;
    set->capacity = capacity;
    return 0;
}

/* Adds the filter for (profile, children) unless the set has it. field names the policy's
 * field the profile comes from, for the message. */
static int filter_set_add(struct filter_set *set, const char *profile, bool children,
                          const char *field, char *err, size_t err_size)
{
    struct profile *parsed = NULL;
    char reason[1024] = "";
    int r;

    if (filter_set_has(set, profile, children))
        return 0;

    r = filter_set_grow(set);
    if (r < 0)
        return r;

    r = profile_load(profile, &parsed, reason, sizeof(reason));
    if (r < 0) {
        snprintf(err, err_size, "%s: %s", field, reason[0] ? reason : strerror(-r));
        return r;
    }

    r = filter_new(parsed, profile, children, &set->filters[set->count]);
    profile_free(parsed);
    if (r < 0) {
        snprintf(err, err_size, "%s: %s: the seccomp filter could not be built (%s)", field,
                 profile, strerror(-r));
        return r;
    }
    set->count++;
    return 0;
}

static int filter_set_add_tenant(struct filter_set *set, const struct policy *policy,
                                 const struct tenant_policy *tenant, bool is_default, char *err,
                                 size_t err_size)
{
    const char *profile = tenant->seccomp_profile ? tenant->seccomp_profile
                                                  : set->default_profile;
    const char *file = policy->path ? policy->path : "built-in policy";
    char field[PATH_MAX + 128];

    if (is_default)
        snprintf(field, sizeof(field), "%s: defaults.code.seccomp_profile", file);
    else
        snprintf(field, sizeof(field), "%s: tenants.%s.code.seccomp_profile", file,
                 tenant->name);
    return filter_set_add(set, profile, tenant->children, field, err, err_size);
}

int filter_set_new(const struct ccx_config *config, const struct policy *policy,
                   struct filter_set **ret_set, char *err, size_t err_size)
{
    struct filter_set *set = calloc(1, sizeof(*set));
    char field[PATH_MAX + 64];
    int r;

    if (!set)
        return -ENOMEM;
    set->default_profile = strdup(config->sandbox.seccomp_profile);
    if (!set->default_profile) {
        filter_set_free(set);
        return -ENOMEM;
    }

    /* The config's own, with children: what compile steps run under. */
    snprintf(field, sizeof(field), "%s: sandbox.seccomp_profile", config->path);
    r = filter_set_add(set, set->default_profile, true, field, err, err_size);
    if (r == 0)
        r = filter_set_add_tenant(set, policy, &policy->defaults, true, err, err_size);
    for (size_t i = 0; r == 0 && i < policy->tenant_count; i++)
        r = filter_set_add_tenant(set, policy, &policy->tenants[i], false, err, err_size);

    if (r < 0) {
        filter_set_free(set);
        return r;
    }
    *ret_set = set;
    return 0;
}

void filter_set_free(struct filter_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        filter_free(set->filters[i]);
    free(set->filters);
    free(set->default_profile);
    free(set);
}

const struct filter *filter_set_find(const struct filter_set *set, const char *profile,
                                     bool children)
{
    if (!profile)
        profile = set->default_profile;

    for (size_t i = 0; i < set->count; i++) {
        const struct filter *filter = set->filters[i];

        if (filter->children == children && strcmp(filter->source, profile) == 0)
            return filter;
    }
    return NULL;
}

size_t filter_set_count(const struct filter_set *set)
{
    return set ? set->count : 0;
}

const struct filter *filter_set_get(const struct filter_set *set, size_t index)
{
    return set && index < set->count ? set->filters[index] : NULL;
}

int filter_set_load(const struct ccx_config *config, struct policy **ret_policy,
                    struct filter_set **ret_set, char *err, size_t err_size)
{
    struct policy *policy = NULL;
    int r;

    err[0] = '\0';
    if (config->policy_path)
        r = policy_load(config->policy_path, config, &policy, err, err_size);
    else
        r = policy_builtin(config, &policy);
    if (r < 0)
        return r;

    r = filter_set_new(config, policy, ret_set, err, err_size);
    if (r < 0) {
        policy_free(policy);
        return r;
    }
    *ret_policy = policy;
    return 0;
}
