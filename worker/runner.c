#include "worker/runner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"

#define MAIN_PLACEHOLDER "{main}"

/* Expands a language's argv template: "{main}" becomes the entry file, and extra (the job's
 * args) is appended. Returns a NULL-terminated array whose strings borrow from the template
 * and the job (free only the array), or NULL when memory runs out. */
static char **runner_expand_argv(char *const *template, const char *main_path, char *const *extra,
                                 size_t extra_count)
{
    size_t count = 0;
    char **argv;

    while (template[count])
        count++;
    argv = calloc(count + extra_count + 1, sizeof(*argv));
    if (!argv)
        return NULL;

    for (size_t i = 0; i < count; i++)
        argv[i] = strcmp(template[i], MAIN_PLACEHOLDER) == 0 ? (char *)main_path : template[i];
    for (size_t i = 0; i < extra_count; i++)
        argv[count + i] = extra[i];
    return argv;
}

static int runner_set_reason(struct result *result, enum job_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int runner_set_reason(struct result *result, enum job_status status, const char *fmt, ...)
{
    va_list args;
    int ret;

    result->status = status;
    free(result->reason);
    va_start(args, fmt);
    ret = vasprintf(&result->reason, fmt, args);
    va_end(args);
    if (ret < 0) {
        result->reason = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Why a step could not run: a command line too long for the sandbox is the job's doing,
 * anything else is ours. */
static int runner_step_failed(struct result *result, const char *step_name, int error)
{
    if (error == -E2BIG)
        return runner_set_reason(result, JOB_STATUS_REJECTED,
                                 "the %s command line is too long for the sandbox (args)",
                                 step_name);
    /* Never published as is: the worker drops a result whose lease it lost, and turns that
     * of a job its client cancelled into status cancelled. */
    if (error == -ECANCELED)
        return runner_set_reason(result, JOB_STATUS_INTERNAL_ERROR,
                                 "the %s step was stopped by the worker", step_name);
    return runner_set_reason(result, JOB_STATUS_INTERNAL_ERROR,
                             "the %s step's sandbox could not be set up (errno %d)", step_name,
                             -error);
}

/* The compile step's limits, except the workspace, which it shares with the run. */
static struct limits runner_compile_limits(const struct language *language, const struct job *job)
{
    struct limits limits = language->compile_limits;

    limits.disk_mb = job->limits.disk_mb;
    return limits;
}

static int runner_compile(struct sandbox *sandbox, const struct language *language,
                          const struct job *job, const struct policy_cgroup *tenant_cgroup,
                          struct result *result)
{
    struct limits limits = runner_compile_limits(language, job);
    _cleanup_free_ char **argv = runner_expand_argv(language->compile_argv, job->main, NULL, 0);
    struct sandbox_step step = {
        .job_id = job->id,
        .tenant = job->tenant,
        .tenant_cgroup = tenant_cgroup,
        .limits = &limits,
    };
    int ret;

    if (!argv)
        return -ENOMEM;
    step.argv = (const char *const *)argv;

    result->has_compile = true;
    ret = sandbox_run(sandbox, &step, &result->compile, &result->events);
    if (ret < 0)
        return runner_step_failed(result, "compile", ret);

    if (result->compile.status != JOB_STATUS_OK) {
        enum job_status why = result->compile.status;

        result->compile.status = JOB_STATUS_COMPILE_ERROR;
        if (why == JOB_STATUS_ERROR_EXIT)
            return runner_set_reason(result, JOB_STATUS_COMPILE_ERROR,
                                     "compilation failed (exit code %d)",
                                     result->compile.exit_code);
        return runner_set_reason(result, JOB_STATUS_COMPILE_ERROR,
                                 "compilation stopped: %s", job_status_name(why));
    }
    return 0;
}

static int runner_execute(struct sandbox *sandbox, const struct language *language,
                          const struct job *job, const struct filter *filter,
                          const struct policy_cgroup *tenant_cgroup, struct result *result)
{
    _cleanup_free_ char **argv =
        runner_expand_argv(language->run_argv, job->main, job->args, job->arg_count);
    struct sandbox_step step = {
        .job_id = job->id,
        .tenant = job->tenant,
        .tenant_cgroup = tenant_cgroup,
        .limits = &job->limits,
        .stdin_data = job->stdin_data,
        .stdin_size = job->stdin_size,
        .filter = filter,
        .tmp_mb = job->tmp_mb,
    };
    int ret;

    if (!argv)
        return -ENOMEM;
    step.argv = (const char *const *)argv;

    ret = sandbox_run(sandbox, &step, &result->run, &result->events);
    if (ret < 0)
        return runner_step_failed(result, "run", ret);
    result->status = result->run.status;
    return 0;
}

/* Files that do not fit the workspace are the job's doing; anything else is ours. */
static int runner_prepare_workspace(struct sandbox *sandbox, const struct ccx_config *config,
                                    const struct job *job, struct result *result,
                                    bool *ret_ready)
{
    int ret = sandbox_workspace_create(sandbox, job);

    *ret_ready = ret == 0;
    if (ret == -ENOSPC || ret == -EFBIG || ret == -EDQUOT)
        return runner_set_reason(result, JOB_STATUS_REJECTED,
                                 "the job's files do not fit in the workspace: "
                                 "limits.disk_mb (%llu MB) or its %llu inodes",
                                 (unsigned long long)job->limits.disk_mb,
                                 (unsigned long long)config->sandbox.inodes);
    if (ret < 0) {
        log_job(job, LOG_LEVEL_ERR, "workspace_create_failed", "errno=%d", -ret);
        return runner_set_reason(result, JOB_STATUS_INTERNAL_ERROR,
                                 "the workspace could not be prepared (errno %d)", -ret);
    }
    return 0;
}

int runner_run(struct sandbox *sandbox, const struct ccx_config *config, const struct job *job,
               const struct filter *run_filter, const struct policy_cgroup *tenant_cgroup,
               struct result *result)
{
    const struct language *language;
    bool ready = false;
    int ret;

    memset(result, 0, sizeof(*result));
    result->id = strdup(job->id);
    result->tenant = strdup(job->tenant ? job->tenant : "default");
    result->language = job->language ? strdup(job->language) : NULL;
    result->meta = job->meta;
    result->meta_size = job->meta_size;
    result->run.exit_code = -1;
    result->policy_version = job->policy_version ? strdup(job->policy_version) : NULL;
    if (!result->id || !result->tenant || (job->language && !result->language) ||
        (job->policy_version && !result->policy_version))
        return -ENOMEM;

    if (job->reject_reason)
        return runner_set_reason(result, JOB_STATUS_REJECTED, "%s", job->reject_reason);

    /* The decoder already refused unknown languages; this guards against a config reload
     * between decoding and running. */
    language = config_language(config, job->language);
    if (!language)
        return runner_set_reason(result, JOB_STATUS_REJECTED, "unknown language '%s'",
                                 job->language);

    ret = sandbox_describe(sandbox, run_filter, &result->enforced);
    if (ret == 0)
        ret = runner_prepare_workspace(sandbox, config, job, result, &ready);
    if (ret == 0 && ready && language->compile_argv)
        ret = runner_compile(sandbox, language, job, tenant_cgroup, result);
    if (ret == 0 && ready && result->status == JOB_STATUS_OK)
        ret = runner_execute(sandbox, language, job, run_filter, tenant_cgroup, result);
    if (ret == 0 && ready)
        ret = sandbox_describe_tenant(sandbox, &result->enforced);

    sandbox_workspace_destroy(sandbox);
    return ret;
}
