/* Part of tools/test-at. */
/* libfaketime 0.9.10 does not wrap sem_clockwait (CPython 3.11 lock timeouts): translate the faked
   absolute deadline into a real one. Preload before libfaketime. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <semaphore.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pthread.h>

typedef int (*sem_clockwait_fn)(sem_t *, clockid_t, const struct timespec *);

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
    static sem_clockwait_fn real = 0;
    if (!real) real = (sem_clockwait_fn)dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec fake_now, real_now, deadline;
    clock_gettime(clock, &fake_now);                 /* faked by libfaketime */
    syscall(SYS_clock_gettime, clock, &real_now);    /* the kernel's */
    long long rel = (abstime->tv_sec - fake_now.tv_sec) * 1000000000LL + (abstime->tv_nsec - fake_now.tv_nsec);
    if (rel < 0) rel = 0;
    long long ns = real_now.tv_nsec + rel % 1000000000LL;
    deadline.tv_sec = real_now.tv_sec + rel / 1000000000LL + ns / 1000000000LL;
    deadline.tv_nsec = ns % 1000000000LL;
    return real(sem, clock, &deadline);
}
