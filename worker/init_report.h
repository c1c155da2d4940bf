/* What ccx-init (worker/init.c) tells the worker on descriptor 3 when the job's program
 * has ended: one fixed-size record. */
#ifndef CCX_WORKER_INIT_REPORT_H
#define CCX_WORKER_INIT_REPORT_H

#define INIT_REPORT_FD 3

enum init_report_kind {
    INIT_EXITED = 1,      /* value: the exit code */
    INIT_SIGNALED = 2,    /* value: the signal that ended it */
    INIT_EXEC_FAILED = 3, /* value: errno of the failed execve (or fork) */
};

struct init_report {
    int kind;
    int value;
};

#endif
