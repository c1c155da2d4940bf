#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define N 4000000

static long partial[THREADS];

static void *work(void *arg)
{
    long id = (long)arg, s = 0;
    for (long i = id; i < N; i += THREADS)
        s += i % 13;
    partial[id] = s;
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    long total = 0;
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += partial[i];
    }
    printf("%ld\n", total);
    return 0;
}
