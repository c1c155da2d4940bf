def shell_sort(a):
    gap = len(a) // 2
    while gap:
        for i in range(gap, len(a)):
            tmp, j = a[i], i
            while j >= gap and a[j - gap] > tmp:
                a[j] = a[j - gap]
                j -= gap
            a[j] = tmp
        gap //= 2
    return a

print(shell_sort([9, 8, 3, 7, 5, 6, 4, 1]))  # "shell" as in Donald Shell, not a shell
