/* libFuzzer target: any bytes as a job message, through the decoder and, for every job it
 * yields, through the result encoder and the msgpack -> JSON conversion that the CLI uses.
 * Nothing may crash, leak or hang, and every input must come back as a job (rejected or
 * not). Built by scripts/fuzz (clang, -DCCX_FUZZ=ON). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/config.h"
#include "common/job.h"
#include "common/msgpack_json.h"
#include "common/result.h"

static struct ccx_config *fuzz_config(void)
{
    static struct ccx_config *config;
    char err[512];

    if (!config && config_load(CCX_SOURCE_DIR "/deploy/ccx.json", &config, err,
                               sizeof(err)) < 0) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    return config;
}

/* The result a worker would publish for this job, encoded and turned into JSON. */
static void fuzz_result_round_trip(const struct job *job)
{
    struct result result = {0};
    msgpack_sbuffer buffer;
    msgpack_unpacked unpacked;

    result.id = strdup(job->id);
    result.tenant = strdup(job->tenant ? job->tenant : "default");
    result.status = job->reject_reason ? JOB_STATUS_REJECTED : JOB_STATUS_OK;
    result.reason = job->reject_reason ? strdup(job->reject_reason) : NULL;
    result.run.exit_code = -1;
    result.meta = job->meta;
    result.meta_size = job->meta_size;

    msgpack_sbuffer_init(&buffer);
    msgpack_unpacked_init(&unpacked);
    if (result_encode(&result, &buffer) == 0 &&
        msgpack_unpack_next(&unpacked, buffer.data, buffer.size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        json_t *json = msgpack_to_json(&unpacked.data);

        json_decref(json);
    }
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&buffer);
    result.meta = NULL;
    result_clear(&result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct job *job = NULL;

    if (job_decode(data, size, "1700000000000-0", fuzz_config(), &job) < 0)
        abort(); /* only running out of memory may fail, and the fuzzer caps memory */
    if (!job->id)
        abort();
    fuzz_result_round_trip(job);
    job_free(job);
    return 0;
}
