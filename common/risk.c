/* Code risk analysis: risk levels. The scanners themselves are added beside these. */
#include "risk.h"

#include <errno.h>
#include <string.h>

static const char *const risk_level_names[] = { "none", "low", "medium", "high", "critical" };

const char *risk_level_name(enum risk_level level)
{
    if ((unsigned)level >= sizeof(risk_level_names) / sizeof(risk_level_names[0]))
        return NULL;
    return risk_level_names[level];
}

int risk_level_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(risk_level_names) / sizeof(risk_level_names[0]); i++) {
        if (strcmp(name, risk_level_names[i]) == 0)
            return (int)i;
    }
    return -EINVAL;
}
