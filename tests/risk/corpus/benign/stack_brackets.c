#include <stdio.h>

int main(void)
{
    char stack[1 << 16];
    int top = 0, c, ok = 1;
    while ((c = getchar()) != EOF && ok) {
        if (c == '(' || c == '[' || c == '{') {
            stack[top++] = (char)c;
        } else if (c == ')' || c == ']' || c == '}') {
            char want = c == ')' ? '(' : c == ']' ? '[' : '{';
            ok = top > 0 && stack[--top] == want;
        }
    }
    puts(ok && top == 0 ? "balanced" : "unbalanced");
    return 0;
}
