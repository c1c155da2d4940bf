/* The parts of a policy loader's message (policy_load: "<file>: <field>: <reason>"), so that
 * a log line can give file=, field= and reason= as separate keys. */
#ifndef CCX_COMMON_POLICY_ERROR_H
#define CCX_COMMON_POLICY_ERROR_H

#include <stddef.h>

/* Splits err, a message about the file at path, into the JSON path of the field it names
 * (copied into field; "" when the message is about the whole file: unreadable, not JSON)
 * and the reason (a pointer into err). */
void policy_error_split(const char *path, const char *err, char *field, size_t field_size,
                        const char **ret_reason);

#endif
