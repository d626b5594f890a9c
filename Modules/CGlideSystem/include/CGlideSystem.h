// Linux system interfaces that the Swift Glibc module does not export: epoll, eventfd, timerfd,
// and the GNU thread-naming call.
#ifndef C_GLIDE_SYSTEM_H
#define C_GLIDE_SYSTEM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

/// Names the calling thread (at most 15 bytes), as `top -H` and debuggers show it.
void CGlideSystem_setThreadName(const char *name);

/// ThreadSanitizer's annotations: a `release` on an address happens before every later `acquire`
/// on it. Provided by the sanitizer's runtime; called only in the `make tsan` build (GLIDE_TSAN).
void __tsan_acquire(void *address);
void __tsan_release(void *address);
#endif
