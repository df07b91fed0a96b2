/* Wrappers of the calls that wait on one fd: read/write and their
 * vectored, positioned, fortified and 64-bit forms, sockets, fsync. Each
 * is timed unless its flags say it cannot block (MSG_DONTWAIT,
 * RWF_NOWAIT); an O_NONBLOCK fd is not known without a system call, so
 * such calls are timed too and come back under the recording threshold. */
#undef _FORTIFY_SOURCE /* we define __read_chk & co. ourselves */
#undef _FILE_OFFSET_BITS /* meson sets it: our pread must stay pread, not pread64 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* The fortified entry points have no prototype without _FORTIFY_SOURCE. */
ssize_t __read_chk(int fd, void *b, size_t n, size_t bl);
ssize_t __pread_chk(int fd, void *b, size_t n, off_t o, size_t bl);
ssize_t __pread64_chk(int fd, void *b, size_t n, off64_t o, size_t bl);
ssize_t __recv_chk(int fd, void *b, size_t n, size_t bl, int f);
ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t bl, int f, __SOCKADDR_ARG a,
		       socklen_t *l);

/* The four positioned vector calls of one direction, preadv, preadv64,
 * preadv2 and preadv64v2 (likewise pwritev): the same arguments with an
 * off_t or off64_t offset; the v2 forms take flags, and RWF_NOWAIT makes
 * them return at once (op2 tells them apart in profiles). */
#define CT_IO_VEC_AT(name, op, op2)                                                        \
	CT_EXPORT ssize_t name(int fd, const struct iovec *v, int c, off_t o)              \
	{                                                                                  \
		CT_IO_CALL(ssize_t, op, fd, real_##name(fd, v, c, o));                     \
	}                                                                                  \
	CT_EXPORT ssize_t name##64(int fd, const struct iovec *v, int c, off64_t o)        \
	{                                                                                  \
		CT_IO_CALL(ssize_t, op, fd, real_##name##64(fd, v, c, o));                 \
	}                                                                                  \
	CT_EXPORT ssize_t name##2(int fd, const struct iovec *v, int c, off_t o, int f)    \
	{                                                                                  \
		CT_IO_WAIT(ssize_t, op2, fd, !(f & RWF_NOWAIT), real_##name##2(fd, v, c, o, f)); \
	}                                                                                  \
	CT_EXPORT ssize_t name##64v2(int fd, const struct iovec *v, int c, off64_t o, int f) \
	{                                                                                  \
		CT_IO_WAIT(ssize_t, op2, fd, !(f & RWF_NOWAIT),                            \
			   real_##name##64v2(fd, v, c, o, f));                             \
	}

CT_EXPORT ssize_t
read(int fd, void *b, size_t n)
{
	CT_IO_CALL(ssize_t, CT_OP_READ, fd, real_read(fd, b, n));
}

CT_EXPORT ssize_t
__read_chk(int fd, void *b, size_t n, size_t bl)
{
	CT_IO_CALL(ssize_t, CT_OP_READ, fd, real___read_chk(fd, b, n, bl));
}

CT_EXPORT ssize_t
readv(int fd, const struct iovec *v, int c)
{
	CT_IO_CALL(ssize_t, CT_OP_READV, fd, real_readv(fd, v, c));
}

CT_EXPORT ssize_t
pread(int fd, void *b, size_t n, off_t o)
{
	CT_IO_CALL(ssize_t, CT_OP_PREAD, fd, real_pread(fd, b, n, o));
}

CT_EXPORT ssize_t
pread64(int fd, void *b, size_t n, off64_t o)
{
	CT_IO_CALL(ssize_t, CT_OP_PREAD, fd, real_pread64(fd, b, n, o));
}

CT_EXPORT ssize_t
__pread_chk(int fd, void *b, size_t n, off_t o, size_t bl)
{
	CT_IO_CALL(ssize_t, CT_OP_PREAD, fd, real___pread_chk(fd, b, n, o, bl));
}

CT_EXPORT ssize_t
__pread64_chk(int fd, void *b, size_t n, off64_t o, size_t bl)
{
	CT_IO_CALL(ssize_t, CT_OP_PREAD, fd, real___pread64_chk(fd, b, n, o, bl));
}

CT_IO_VEC_AT(preadv, CT_OP_PREADV, CT_OP_PREADV2)

CT_EXPORT ssize_t
write(int fd, const void *b, size_t n)
{
	CT_IO_CALL(ssize_t, CT_OP_WRITE, fd, real_write(fd, b, n));
}

CT_EXPORT ssize_t
writev(int fd, const struct iovec *v, int c)
{
	CT_IO_CALL(ssize_t, CT_OP_WRITEV, fd, real_writev(fd, v, c));
}

CT_EXPORT ssize_t
pwrite(int fd, const void *b, size_t n, off_t o)
{
	CT_IO_CALL(ssize_t, CT_OP_PWRITE, fd, real_pwrite(fd, b, n, o));
}

CT_EXPORT ssize_t
pwrite64(int fd, const void *b, size_t n, off64_t o)
{
	CT_IO_CALL(ssize_t, CT_OP_PWRITE, fd, real_pwrite64(fd, b, n, o));
}

CT_IO_VEC_AT(pwritev, CT_OP_PWRITEV, CT_OP_PWRITEV2)

CT_EXPORT ssize_t
recv(int fd, void *b, size_t n, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_RECV, fd, !(f & MSG_DONTWAIT), real_recv(fd, b, n, f));
}

CT_EXPORT ssize_t
__recv_chk(int fd, void *b, size_t n, size_t bl, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_RECV, fd, !(f & MSG_DONTWAIT), real___recv_chk(fd, b, n, bl, f));
}

CT_EXPORT ssize_t
recvfrom(int fd, void *b, size_t n, int f, __SOCKADDR_ARG a, socklen_t *l)
{
	CT_IO_WAIT(ssize_t, CT_OP_RECVFROM, fd, !(f & MSG_DONTWAIT), real_recvfrom(fd, b, n, f, a, l));
}

CT_EXPORT ssize_t
__recvfrom_chk(int fd, void *b, size_t n, size_t bl, int f, __SOCKADDR_ARG a, socklen_t *l)
{
	CT_IO_WAIT(ssize_t, CT_OP_RECVFROM, fd, !(f & MSG_DONTWAIT),
		   real___recvfrom_chk(fd, b, n, bl, f, a, l));
}

CT_EXPORT ssize_t
recvmsg(int fd, struct msghdr *m, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_RECVMSG, fd, !(f & MSG_DONTWAIT), real_recvmsg(fd, m, f));
}

CT_EXPORT int
recvmmsg(int fd, struct mmsghdr *v, unsigned n, int f, struct timespec *t)
{
	CT_IO_WAIT(int, CT_OP_RECVMMSG, fd, !(f & MSG_DONTWAIT), real_recvmmsg(fd, v, n, f, t));
}

CT_EXPORT ssize_t
send(int fd, const void *b, size_t n, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_SEND, fd, !(f & MSG_DONTWAIT), real_send(fd, b, n, f));
}

CT_EXPORT ssize_t
sendto(int fd, const void *b, size_t n, int f, __CONST_SOCKADDR_ARG a, socklen_t l)
{
	CT_IO_WAIT(ssize_t, CT_OP_SENDTO, fd, !(f & MSG_DONTWAIT), real_sendto(fd, b, n, f, a, l));
}

CT_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *m, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_SENDMSG, fd, !(f & MSG_DONTWAIT), real_sendmsg(fd, m, f));
}

CT_EXPORT int
sendmmsg(int fd, struct mmsghdr *v, unsigned n, int f)
{
	CT_IO_WAIT(int, CT_OP_SENDMMSG, fd, !(f & MSG_DONTWAIT), real_sendmmsg(fd, v, n, f));
}

CT_EXPORT int
accept(int fd, __SOCKADDR_ARG a, socklen_t *l)
{
	CT_IO_CALL(int, CT_OP_ACCEPT, fd, real_accept(fd, a, l));
}

CT_EXPORT int
accept4(int fd, __SOCKADDR_ARG a, socklen_t *l, int f)
{
	CT_IO_CALL(int, CT_OP_ACCEPT4, fd, real_accept4(fd, a, l, f));
}

CT_EXPORT int
connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t l)
{
	CT_IO_CALL(int, CT_OP_CONNECT, fd, real_connect(fd, a, l));
}

CT_EXPORT int
fsync(int fd)
{
	CT_IO_CALL(int, CT_OP_FSYNC, fd, real_fsync(fd));
}

CT_EXPORT int
fdatasync(int fd)
{
	CT_IO_CALL(int, CT_OP_FDATASYNC, fd, real_fdatasync(fd));
}
