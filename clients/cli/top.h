/* `ccx top`: a live dashboard of the fleet, read from Redis only (the keys of
 * docs/OPERATIONS.md, State in Redis), one pipelined round trip per refresh. */
#ifndef CCX_CLI_TOP_H
#define CCX_CLI_TOP_H

/* Runs the command (argv[0] is its name). Returns the process exit status: 0, 2 for a usage
 * error, 3 when Redis failed (the live view returns only when out of memory: a signal ends
 * it). */
int top_main(int argc, char **argv);

#endif
