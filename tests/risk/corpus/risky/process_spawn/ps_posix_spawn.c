#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(void)
{
    pid_t pid;
    char *args[] = {"id", NULL};
    posix_spawnp(&pid, "id", NULL, NULL, args, environ);
    waitpid(pid, NULL, 0);
    return 0;
}
