/*
 * How the upstream suites' processes report to their driver (ipc_test.cpp): one line per case on
 * stdout, "<case> ok" or "<case> FAIL <what>", written with one write(2) so that lines of worker
 * threads never interleave.
 */
#ifndef LITEIPC_UPSTREAM_CASE_REPORT_H
#define LITEIPC_UPSTREAM_CASE_REPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static inline void ReportLine(const char* format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(STDOUT_FILENO, line, (size_t)n);
}

/* EXPECT_EQ of upstream's cases: the first mismatch of a case is its verdict. */
#define CASE_BEGIN(name) { const char* caseName_ = name; int caseFailed_ = 0;
#define CASE_EXPECT_EQ(actual, expected)                                                          \
    do {                                                                                          \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                           \
        if (a_ != e_ && !caseFailed_) {                                                           \
            ReportLine("%s FAIL %s is %lld, expected %lld", caseName_, #actual, a_, e_);          \
            caseFailed_ = 1;                                                                      \
        }                                                                                         \
    } while (0)
#define CASE_END() if (!caseFailed_) ReportLine("%s ok", caseName_); }

#endif /* LITEIPC_UPSTREAM_CASE_REPORT_H */
