#include <pthread.h>
#include <stdio.h>
static long counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *inc(void *arg) { for (int i = 0; i < 100000; i++) { pthread_mutex_lock(&mu); counter++; pthread_mutex_unlock(&mu); } return arg; }
int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, inc, NULL);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("%ld\n", counter);
    return 0;
}
