#define _GNU_SOURCE
#include <pthread.h>
#include "CGlideSystem.h"

void CGlideSystem_setThreadName(const char *name) {
    pthread_setname_np(pthread_self(), name);
}
