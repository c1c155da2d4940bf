// ccx-attack: burn CPU on 16 threads at once, to take more CPU than cpu_ms allows
// ccx-category: resources
// ccx-status: cpu_limit
// ccx-event: cpu_limit ^cpu_ms=2000 used_ms=\d+
// ccx-limits: cpu_ms=2000 wall_ms=30000
// ccx-cpus: 1
// The cgroup counts every thread: 16 threads must not get 16 times the budget, and the
// job's CPU quota (one CPU as shipped) keeps them from taking the host's other cores.
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define THREADS 16

static volatile unsigned long spins[THREADS];

static void *burn(void *arg)
{
    volatile unsigned long *count = arg;

    for (;;)
        (*count)++;
    return NULL;
}

int main(void)
{
    pthread_t threads[THREADS];
    struct timespec wait = {.tv_sec = 25};

    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, burn, (void *)&spins[i]) != 0) {
            printf("thread %d could not start: the attack did not run\n", i);
            return 2;
        }
    }
    nanosleep(&wait, NULL);
    printf("ESCAPED: 16 threads burned CPU for 25 s\n");
    return 1;
}
