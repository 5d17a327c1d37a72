// open_latency: the cost of open(2) + close(2) on every file of a list, one file at a time.
// bench/open-latency.sh runs it on the kernel overlay and on overlayfuse's two kinds of view,
// to show what one FUSE round trip costs on the machine (a writable view must see every open).
//
//   open_latency LIST PASSES     (LIST: one path per line)
// Prints the total, the time per file, and percentiles of open(2) and close(2) alone.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void* a, const void* b) {
    long long x = *(const long long*)a, y = *(const long long*)b;
    return x < y ? -1 : x > y;
}

static void percentiles(const char* what, long long* v, size_t n) {
    qsort(v, n, sizeof *v, by_value);
    printf("%-6s p10 %6.2f  p50 %6.2f  p90 %6.2f  p99 %6.2f us\n", what, v[n / 10] / 1e3, v[n / 2] / 1e3,
           v[n * 9 / 10] / 1e3, v[n * 99 / 100] / 1e3);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: open_latency LIST PASSES\n");
        return 2;
    }
    FILE* f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t cap = 1024, n = 0;
    char** paths = malloc(cap * sizeof *paths);
    char* line = NULL;
    size_t len = 0;
    while (getline(&line, &len, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (n == cap) paths = realloc(paths, (cap *= 2) * sizeof *paths);
        paths[n++] = strdup(line);
    }
    fclose(f);
    int passes = atoi(argv[2]);
    if (n == 0 || passes < 1) {
        fprintf(stderr, "open_latency: nothing to open\n");
        return 1;
    }
    size_t total = n * (size_t)passes, k = 0;
    long long* opens = malloc(total * sizeof *opens);
    long long* closes = malloc(total * sizeof *closes);
    long long start = now_ns();
    for (int p = 0; p < passes; ++p) {
        for (size_t i = 0; i < n; ++i, ++k) {
            long long a = now_ns();
            int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
            long long b = now_ns();
            if (fd < 0) {
                perror(paths[i]);
                return 1;
            }
            close(fd);
            opens[k] = b - a;
            closes[k] = now_ns() - b;
        }
    }
    long long took = now_ns() - start;
    printf("%zu opens in %.1f ms: %.2f us a file\n", total, took / 1e6, took / 1e3 / total);
    percentiles("open", opens, total);
    percentiles("close", closes, total);
    return 0;
}
