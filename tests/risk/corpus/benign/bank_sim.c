#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    double balance[3] = {100, 250, 40};
    srand(42);
    for (int day = 0; day < 365; day++) {
        int who = rand() % 3;
        double amount = (rand() % 10000) / 100.0;
        if (rand() % 2)
            balance[who] += amount;
        else if (balance[who] >= amount)
            balance[who] -= amount;
        balance[who] *= 1.0001;
    }
    for (int i = 0; i < 3; i++)
        printf("account %d: %.2f\n", i, balance[i]);
    return 0;
}
