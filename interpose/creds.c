/* The program giving up what it may reach: root for good (setuid,
 * setreuid and setresuid from euid 0 to ids that are all another user's),
 * and the file system outside a directory (chroot).
 *
 * Servers started as root drop to their own user in their workers
 * (nginx's and Apache's www-data, MariaDB's mysql), often in a directory
 * only root may write: "/" under systemd, root's home. The worker's
 * output directory, made at its first dump, could then not be made at
 * all, and its profiles were lost. Just before such a drop the shim
 * makes it for the new user (core/dump.h ct_dump_before_uid_drop), only
 * when that user could not make it later. A drop that keeps root in any
 * of the three ids (seteuid, a saved set-user-ID of 0: a temporary drop
 * the program will undo) changes nothing here: a directory given to the
 * temporary user would refuse root's own dumps later.
 *
 * A process that chroot()s (bind, postfix, vsftpd, sshd's privilege
 * separation) would find neither the report library nor the files names
 * come from afterwards: the shim takes what it needs first (core/dump.h
 * ct_dump_before_chroot).
 *
 * The calls themselves pass through untouched, errno included.
 * Thread-safe; async-signal-safe, as the calls are. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "../core/compiler.h"
#include "../core/dump.h"
#include "interpose.h"
#include "real.h"

/* Whether a call leaving the ids at r, e, s ((uid_t)-1: unchanged) gives
 * up root for good; if so, the output directory is readied first. */
static bool
ct_creds_dropping(uid_t r, uid_t e, uid_t s)
{
	uid_t cr, ce, cs;
	if (getresuid(&cr, &ce, &cs) != 0 || ce != 0)
		return false;
	r = r == (uid_t)-1 ? cr : r;
	e = e == (uid_t)-1 ? ce : e;
	s = s == (uid_t)-1 ? cs : s;
	if (r == 0 || e == 0 || s == 0)
		return false;
	ct_dump_before_uid_drop(e);
	return true;
}

static int
ct_creds_done(bool dropping, int ret)
{
	if (dropping) {
		int saved = errno;
		ct_dump_after_uid_drop(ret == 0);
		errno = saved;
	}
	return ret;
}

/* As root, setuid sets all three ids. */
CT_EXPORT int
setuid(uid_t uid)
{
	bool d = ct_creds_dropping(uid, uid, uid);
	return ct_creds_done(d, real_setuid(uid));
}

/* Setting the real id, or an effective one other than the real, sets the
 * saved id to the new effective one. */
CT_EXPORT int
setreuid(uid_t ruid, uid_t euid)
{
	uid_t cr, ce, cs, s = (uid_t)-1;
	if (getresuid(&cr, &ce, &cs) == 0 &&
	    (ruid != (uid_t)-1 || (euid != (uid_t)-1 && euid != cr)))
		s = euid == (uid_t)-1 ? ce : euid;
	bool d = ct_creds_dropping(ruid, euid, s);
	return ct_creds_done(d, real_setreuid(ruid, euid));
}

CT_EXPORT int
setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	bool d = ct_creds_dropping(ruid, euid, suid);
	return ct_creds_done(d, real_setresuid(ruid, euid, suid));
}

/* What the shim needs later from outside the new root is readied first
 * (core/dump.h ct_dump_before_chroot). */
CT_EXPORT int
chroot(const char *path)
{
	ct_dump_before_chroot();
	int ret = real_chroot(path);
	if (ret == 0)
		ct_dump_after_chroot();
	return ret;
}
