// Linux system interfaces that the Swift Glibc module does not export: epoll, eventfd, timerfd,
// and the GNU thread-naming call.
#ifndef C_GLIDE_SYSTEM_H
#define C_GLIDE_SYSTEM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

/// Names the calling thread (at most 15 bytes), as `top -H` and debuggers show it.
void CGlideSystem_setThreadName(const char *name);
#endif
