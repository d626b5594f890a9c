// Linux system headers that the Swift Glibc module does not export: epoll, eventfd, timerfd.
#ifndef C_GLIDE_SYSTEM_H
#define C_GLIDE_SYSTEM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <netinet/tcp.h>
#endif
